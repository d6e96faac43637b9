//! Embeds the SQL migrations: for each backend folder under `migrations/`, writes a list of
//! `(version, description, sql)` into `$OUT_DIR/migrations.rs`, each `sql` pulled in with `include_str!`.
//!
//! This does what `sqlx::migrate!` does without sqlx's `macros` feature, which would build the whole
//! driver stack a second time for the proc-macro. File names follow sqlx's convention:
//! `<version>_<description>.sql`, for example `0001_initial.sql`.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=migrations");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let out_dir = std::env::var("OUT_DIR")?;
    let mut code = String::new();
    for backend in BACKENDS {
        let dir = Path::new(&manifest_dir).join("migrations").join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "sql") {
                files.push(path);
            }
        }
        files.sort();
        writeln!(
            code,
            "/// The embedded {backend} migrations: (version, description, sql)."
        )?;
        writeln!(
            code,
            "pub(crate) const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )?;
        for path in files {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| format!("migration file name is not UTF-8: {}", path.display()))?;
            let (version, description) = stem.split_once('_').ok_or_else(|| {
                format!("migration file name is not <version>_<description>.sql: {stem}")
            })?;
            let version: i64 = version
                .parse()
                .map_err(|e| format!("migration version of {stem} is not an integer: {e}"))?;
            let description = description.replace('_', " ");
            let path = path.to_str().ok_or("migration path is not UTF-8")?;
            writeln!(
                code,
                "    ({version}, {description:?}, include_str!({path:?})),"
            )?;
        }
        writeln!(code, "];")?;
    }
    std::fs::write(Path::new(&out_dir).join("migrations.rs"), code)?;
    Ok(())
}
