//! `doorstep admin create` is an account tool: it creates the admin and acts on nothing else. It must
//! not rebuild hot state or start a dispatcher against a database that a running server owns (a
//! dispatcher there would offer or end that server's rides).

use std::process::Command;

#[test]
fn admin_create_creates_the_admin_and_starts_no_dispatcher() {
    let dir =
        std::env::temp_dir().join(format!("doorstep-admin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("admin.db");
    let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["admin", "create", "--email", "ops@example.com"])
        .arg("--database-url")
        .arg(format!("sqlite://{}?mode=rwc", db.display()))
        .env("DOORSTEP_ADMIN_PASSWORD", "correct horse battery staple")
        .env("RUST_LOG", "info")
        .env_remove("DOORSTEP_LOG_FORMAT")
        .output()
        .expect("the doorstep binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("admin ops@example.com created"),
        "{stdout}\n{stderr}"
    );
    for started in ["dispatcher started", "hot state rebuilt"] {
        assert!(
            !stdout.contains(started) && !stderr.contains(started),
            "admin create logged {started:?}:\n{stdout}\n{stderr}"
        );
    }
}
