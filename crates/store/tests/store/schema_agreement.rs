//! The SQLite and PostgreSQL migrations describe one schema.
//!
//! Each backend has its own migrations folder, so nothing but this check stops the two from drifting apart
//! (a column added in one dialect only, `REAL` in PostgreSQL where SQLite means eight bytes, a primary key
//! that SQLite lets be NULL, a forgotten index). After each migration version, both databases are read back
//! from their catalogs and normalised into one list of facts per dialect: tables, columns with a logical
//! type, nullability, default and whether the database generates them, primary keys, unique constraints,
//! foreign keys with their actions, which columns check constraints read, and indexes with their name,
//! table, columns, uniqueness and whether they are partial. The two lists must be equal; a failure prints
//! the facts each dialect has and the other lacks. docs/migrations.md explains how to write migrations that
//! pass.

use super::{POSTGRES_URL_VAR, REQUIRE_POSTGRES_VAR, with_database};
use doorstep_store::Store;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use uuid::Uuid;

/// What the helpers return; a disagreement is an assertion failure instead.
type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The migration versions of one backend, read from the folder `build.rs` embeds.
fn migration_versions(backend: &str) -> TestResult<Vec<i64>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or("migration file name is not UTF-8")?;
            let version = stem.split_once('_').map_or(stem, |(v, _)| v);
            versions.push(version.parse()?);
        }
    }
    versions.sort_unstable();
    Ok(versions)
}

/// Migrates a fresh SQLite file and a fresh PostgreSQL database one version at a time and compares their
/// schemas after each. Needs both databases, so it is not one of the suite's per-backend tests; without a
/// PostgreSQL server it prints `POSTGRES_SKIPPED` and passes, unless `DOORSTEP_REQUIRE_POSTGRES` is set.
pub async fn sqlite_and_postgres_schemas_agree_after_each_migration() -> TestResult {
    let sqlite_versions = migration_versions("sqlite")?;
    let postgres_versions = migration_versions("postgres")?;
    assert_eq!(
        sqlite_versions, postgres_versions,
        "every migration version exists for both backends"
    );
    let Ok(server) = std::env::var(POSTGRES_URL_VAR) else {
        writeln!(
            std::io::stderr(),
            "POSTGRES_SKIPPED: {POSTGRES_URL_VAR} is not set, so the schema agreement check did not run"
        )?;
        if std::env::var_os(REQUIRE_POSTGRES_VAR).is_some_and(|v| !v.is_empty()) {
            return Err(
                format!("{REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not").into(),
            );
        }
        return Ok(());
    };
    let path = std::env::temp_dir().join(format!("doorstep_schema_{}.db", Uuid::new_v4().simple()));
    let sqlite_url = format!("sqlite://{}?mode=rwc", path.display());
    let postgres_url = with_database(
        &server,
        &format!("doorstep_schema_{}", Uuid::new_v4().simple()),
    )?;
    sqlx::any::install_default_drivers();
    <sqlx::Any as sqlx::migrate::MigrateDatabase>::create_database(&postgres_url).await?;
    let outcome = compare_each_version(&sqlite_versions, &sqlite_url, &postgres_url).await;
    <sqlx::Any as sqlx::migrate::MigrateDatabase>::force_drop_database(&postgres_url).await?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        // The WAL and shared-memory files may not exist.
        let _ = std::fs::remove_file(file);
    }
    let disagreements = outcome?;
    assert!(
        disagreements.is_empty(),
        "the SQLite and PostgreSQL schemas disagree:\n{}",
        disagreements.join("\n")
    );
    Ok(())
}

/// The disagreements found after each version, as readable reports (empty when the schemas agree).
async fn compare_each_version(
    versions: &[i64],
    sqlite_url: &str,
    postgres_url: &str,
) -> TestResult<Vec<String>> {
    let sqlite = Store::connect(sqlite_url).await?;
    let postgres = Store::connect(postgres_url).await?;
    let mut reports = Vec::new();
    for &version in versions {
        sqlite.migrate_through(version).await?;
        postgres.migrate_through(version).await?;
        let mut conn = AnyConnection::connect(sqlite_url).await?;
        let lite = sqlite_schema(&mut conn).await?;
        conn.close().await?;
        let mut conn = AnyConnection::connect(postgres_url).await?;
        let pg = postgres_schema(&mut conn).await?;
        conn.close().await?;
        if let Some(report) = diff(&lite, &pg) {
            reports.push(format!("after migration {version:04}:\n{report}"));
        }
    }
    sqlite.close().await;
    postgres.close().await;
    Ok(reports)
}

/// One schema as a set of self-contained facts, each one line (`column rides.state text not null`).
type Facts = BTreeSet<String>;

/// What each side has that the other lacks, or `None` when they agree.
fn diff(sqlite: &Facts, postgres: &Facts) -> Option<String> {
    let mut report = String::new();
    for fact in sqlite.difference(postgres) {
        report.push_str(&format!("  only in SQLite:     {fact}\n"));
    }
    for fact in postgres.difference(sqlite) {
        report.push_str(&format!("  only in PostgreSQL: {fact}\n"));
    }
    (!report.is_empty()).then_some(report)
}

/// A column, normalised.
#[derive(Debug)]
struct Column {
    logical_type: String,
    not_null: bool,
    default: Option<String>,
    /// How the database fills the column when an insert leaves it out: `identity` (increasing, never
    /// reused) or `rowid` (SQLite's rowid without AUTOINCREMENT, which may reuse the largest id).
    generated: Option<&'static str>,
}

impl Column {
    fn fact(&self, table: &str, name: &str) -> String {
        let mut fact = format!("column {table}.{name} {}", self.logical_type);
        fact.push_str(if self.not_null { " not null" } else { " null" });
        if let Some(default) = &self.default {
            fact.push_str(&format!(" default {default}"));
        }
        if let Some(generated) = self.generated {
            fact.push_str(&format!(" generated as {generated}"));
        }
        fact
    }
}

/// A foreign key, normalised.
fn foreign_key_fact(
    table: &str,
    columns: &[String],
    target: &str,
    target_columns: &[String],
    on_update: &str,
    on_delete: &str,
) -> String {
    format!(
        "foreign key {table} ({}) references {target} ({}) on update {on_update} on delete {on_delete}",
        columns.join(", "),
        target_columns.join(", ")
    )
}

fn index_fact(name: &str, table: &str, columns: &[String], unique: bool, partial: bool) -> String {
    format!(
        "index {name} on {table} ({}){}{}",
        columns.join(", "),
        if unique { " unique" } else { "" },
        if partial { " partial" } else { "" }
    )
}

/// The logical type of a SQLite declared type (SQLite stores every integer in up to eight bytes).
fn sqlite_type(declared: &str) -> String {
    let upper = declared.trim().to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or("").trim();
    match base {
        "INTEGER" | "BIGINT" | "INT" | "INT8" => "int64".to_owned(),
        "SMALLINT" | "INT2" => "int16".to_owned(),
        "TEXT" => "text".to_owned(),
        "VARCHAR" | "CHARACTER VARYING" => "varchar".to_owned(),
        "DOUBLE PRECISION" | "DOUBLE" | "REAL" | "FLOAT" | "FLOAT8" => "float64".to_owned(),
        "BOOLEAN" | "BOOL" => "boolean".to_owned(),
        "BLOB" => "bytes".to_owned(),
        _ => format!("sqlite {declared:?}"),
    }
}

/// The logical type of a PostgreSQL `information_schema.columns.data_type`.
fn postgres_type(data_type: &str) -> String {
    match data_type {
        "bigint" => "int64".to_owned(),
        "integer" => "int32".to_owned(),
        "smallint" => "int16".to_owned(),
        "text" => "text".to_owned(),
        "character varying" => "varchar".to_owned(),
        "double precision" => "float64".to_owned(),
        "real" => "float32".to_owned(),
        "boolean" => "boolean".to_owned(),
        "bytea" => "bytes".to_owned(),
        other => format!("postgres {other:?}"),
    }
}

/// A default expression with each dialect's decoration removed: PostgreSQL's casts (`'-1'::bigint`),
/// outer parentheses, quotes around numbers, and the case of keywords.
fn normalise_default(raw: &str) -> String {
    let mut text = raw.trim().to_owned();
    loop {
        let before = text.clone();
        if let Some(cast) = text.rfind("::") {
            let type_name = &text[cast + 2..];
            if type_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '_')
            {
                text.truncate(cast);
            }
        }
        if text.starts_with('(') && text.ends_with(')') {
            text = text[1..text.len() - 1].to_owned();
        }
        text = text.trim().to_owned();
        if text == before {
            break;
        }
    }
    if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
        let inner = &text[1..text.len() - 1];
        if inner.parse::<f64>().is_ok() {
            return inner.to_owned();
        }
        return text;
    }
    text.to_ascii_lowercase()
}

/// The names of `columns` that the text of a `CHECK (...)` expression mentions, sorted.
fn columns_mentioned(expression: &str, columns: &[String]) -> Vec<String> {
    let words: BTreeSet<String> = expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut found: Vec<String> = columns
        .iter()
        .filter(|c| words.contains(&c.to_ascii_lowercase()))
        .cloned()
        .collect();
    found.sort();
    found
}

/// The parenthesised expressions following each `CHECK` keyword of a `CREATE TABLE` statement.
fn check_expressions(create_table: &str) -> Vec<String> {
    let upper = create_table.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = upper[from..].find("CHECK") {
        let start = from + offset;
        from = start + 5;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let rest = create_table[from..].trim_start();
        if !before_ok || !rest.starts_with('(') {
            continue;
        }
        let mut depth = 0usize;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        found.push(rest[1..i].to_owned());
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    found
}

fn text(row: &AnyRow, column: &str) -> TestResult<String> {
    Ok(row.try_get::<String, _>(column)?)
}

fn opt_text(row: &AnyRow, column: &str) -> TestResult<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

fn int(row: &AnyRow, column: &str) -> TestResult<i64> {
    Ok(row.try_get::<i64, _>(column)?)
}

/// A foreign key as SQLite lists it, one row per column.
#[derive(Default)]
struct SqliteForeignKey {
    table: String,
    target: String,
    from: Vec<String>,
    /// `None` where the key names no column: the target's primary key.
    to: Vec<Option<String>>,
    on_update: String,
    on_delete: String,
}

/// The schema of a SQLite database, read with its `pragma_*` table functions.
async fn sqlite_schema(conn: &mut AnyConnection) -> TestResult<Facts> {
    let tables = sqlx::query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut facts = Facts::new();
    let mut primary_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut foreign_keys = Vec::new();
    for table_row in &tables {
        let table = text(table_row, "name")?;
        let create = text(table_row, "sql")?;
        facts.insert(format!("table {table}"));
        let rows = sqlx::query(
            "SELECT name, type, \"notnull\" AS not_null, dflt_value, pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        let mut key: Vec<(i64, String)> = Vec::new();
        let mut columns = Vec::new();
        for row in &rows {
            let name = text(row, "name")?;
            let declared = text(row, "type")?;
            let pk = int(row, "pk")?;
            if pk > 0 {
                key.push((pk, name.clone()));
            }
            columns.push((
                name,
                declared,
                int(row, "not_null")? != 0,
                opt_text(row, "dflt_value")?,
            ));
        }
        key.sort();
        let key: Vec<String> = key.into_iter().map(|(_, name)| name).collect();
        let autoincrement = create.to_ascii_uppercase().contains("AUTOINCREMENT");
        for (name, declared, not_null, default) in &columns {
            // A sole INTEGER PRIMARY KEY is the rowid: never NULL, filled in by SQLite.
            let rowid =
                key.len() == 1 && key[0] == *name && declared.eq_ignore_ascii_case("INTEGER");
            let column = Column {
                logical_type: sqlite_type(declared),
                not_null: *not_null || rowid,
                default: default.as_deref().map(normalise_default),
                generated: rowid.then_some(if autoincrement { "identity" } else { "rowid" }),
            };
            facts.insert(column.fact(&table, name));
        }
        if !key.is_empty() {
            facts.insert(format!("primary key {table} ({})", key.join(", ")));
        }
        let column_names: Vec<String> = columns.iter().map(|(n, ..)| n.clone()).collect();
        for expression in check_expressions(&create) {
            facts.insert(format!(
                "check {table} ({})",
                columns_mentioned(&expression, &column_names).join(", ")
            ));
        }
        primary_keys.insert(table.clone(), key);

        let indexes = sqlx::query(
            "SELECT name, \"unique\" AS is_unique, origin, partial FROM pragma_index_list($1)",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        for index in &indexes {
            let name = text(index, "name")?;
            let origin = text(index, "origin")?;
            let cols: Vec<String> =
                sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| Ok(opt_text(r, "name")?.unwrap_or_else(|| "(expression)".to_owned())))
                    .collect::<TestResult<_>>()?;
            match origin.as_str() {
                // The primary key's own index: the primary key fact covers it.
                "pk" => {}
                "u" => {
                    facts.insert(format!("unique {table} ({})", cols.join(", ")));
                }
                _ => {
                    facts.insert(index_fact(
                        &name,
                        &table,
                        &cols,
                        int(index, "is_unique")? != 0,
                        int(index, "partial")? != 0,
                    ));
                }
            }
        }

        let keys = sqlx::query(
            "SELECT id, \"table\" AS target, \"from\" AS source, \"to\" AS target_column, on_update, on_delete \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_id: BTreeMap<i64, SqliteForeignKey> = BTreeMap::new();
        for key in &keys {
            let entry = by_id
                .entry(int(key, "id")?)
                .or_insert_with(|| SqliteForeignKey {
                    table: table.clone(),
                    ..SqliteForeignKey::default()
                });
            entry.target = text(key, "target")?;
            entry.from.push(text(key, "source")?);
            entry.to.push(opt_text(key, "target_column")?);
            entry.on_update = text(key, "on_update")?.to_ascii_lowercase();
            entry.on_delete = text(key, "on_delete")?.to_ascii_lowercase();
        }
        foreign_keys.extend(by_id.into_values());
    }
    // `REFERENCES users` without a column means the referenced table's primary key.
    for key in foreign_keys {
        let to: Vec<String> = if key.to.iter().all(Option::is_none) {
            primary_keys.get(&key.target).cloned().unwrap_or_default()
        } else {
            key.to.into_iter().map(Option::unwrap_or_default).collect()
        };
        facts.insert(foreign_key_fact(
            &key.table,
            &key.from,
            &key.target,
            &to,
            &key.on_update,
            &key.on_delete,
        ));
    }
    Ok(facts)
}

/// A PostgreSQL foreign-key action code (`pg_constraint.confupdtype`) in SQLite's words.
fn postgres_action(code: &str) -> String {
    match code {
        "a" => "no action",
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        other => return format!("action {other:?}"),
    }
    .to_owned()
}

/// The schema of the current schema of a PostgreSQL database, read from its catalogs.
async fn postgres_schema(conn: &mut AnyConnection) -> TestResult<Facts> {
    let mut facts = Facts::new();
    let tables = sqlx::query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut known = BTreeSet::new();
    for row in &tables {
        let table = text(row, "name")?;
        facts.insert(format!("table {table}"));
        known.insert(table);
    }
    let columns = sqlx::query(
        "SELECT table_name::text AS tbl, column_name::text AS name, data_type::text AS data_type, \
         is_nullable::text AS is_nullable, column_default::text AS dflt, is_identity::text AS is_identity \
         FROM information_schema.columns WHERE table_schema = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut column_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &columns {
        let table = text(row, "tbl")?;
        if !known.contains(&table) {
            continue;
        }
        let name = text(row, "name")?;
        let default = opt_text(row, "dflt")?;
        // A serial column's default draws from a sequence: generated, like an identity column.
        let serial = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        let identity = text(row, "is_identity")? == "YES" || serial;
        let column = Column {
            logical_type: postgres_type(&text(row, "data_type")?),
            not_null: text(row, "is_nullable")? == "NO",
            default: if serial {
                None
            } else {
                default.as_deref().map(normalise_default)
            },
            generated: identity.then_some("identity"),
        };
        facts.insert(column.fact(&table, &name));
        column_names.entry(table).or_default().push(name);
    }
    let constraints = sqlx::query(
        "SELECT rel.relname::text AS tbl, con.contype::text AS kind, \
           array_to_string(ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord) \
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord), ',') AS cols, \
           COALESCE(target.relname::text, '') AS target, \
           COALESCE(array_to_string(ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord) \
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord), ','), '') AS target_cols, \
           con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete \
         FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid \
           JOIN pg_namespace n ON n.oid = rel.relnamespace LEFT JOIN pg_class target ON target.oid = con.confrelid \
         WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f', 'c')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let split = |s: String| -> Vec<String> {
        s.split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for row in &constraints {
        let table = text(row, "tbl")?;
        if !known.contains(&table) {
            continue;
        }
        let cols = split(text(row, "cols")?);
        match text(row, "kind")?.as_str() {
            "p" => {
                facts.insert(format!("primary key {table} ({})", cols.join(", ")));
            }
            "u" => {
                facts.insert(format!("unique {table} ({})", cols.join(", ")));
            }
            "f" => {
                facts.insert(foreign_key_fact(
                    &table,
                    &cols,
                    &text(row, "target")?,
                    &split(text(row, "target_cols")?),
                    &postgres_action(&text(row, "on_update")?),
                    &postgres_action(&text(row, "on_delete")?),
                ));
            }
            _ => {
                let mut cols = cols;
                cols.sort();
                facts.insert(format!("check {table} ({})", cols.join(", ")));
            }
        }
    }
    let indexes = sqlx::query(
        "SELECT i.relname::text AS name, t.relname::text AS tbl, \
           CAST(CASE WHEN ix.indisunique THEN 1 ELSE 0 END AS BIGINT) AS is_unique, \
           CAST(CASE WHEN ix.indpred IS NULL THEN 0 ELSE 1 END AS BIGINT) AS partial, \
           array_to_string(ARRAY(SELECT COALESCE(a.attname::text, '(expression)') \
             FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(num, ord) \
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num ORDER BY k.ord), ',') AS cols \
         FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
           WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u', 'x'))",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &indexes {
        let table = text(row, "tbl")?;
        if !known.contains(&table) {
            continue;
        }
        facts.insert(index_fact(
            &text(row, "name")?,
            &table,
            &split(text(row, "cols")?),
            int(row, "is_unique")? != 0,
            int(row, "partial")? != 0,
        ));
    }
    Ok(facts)
}

/// The normalisation the comparison relies on.
mod normalising {
    use super::*;

    #[test]
    fn defaults_lose_casts_parentheses_and_quotes_around_numbers() {
        assert_eq!(normalise_default("0"), "0");
        assert_eq!(normalise_default("'-1'::bigint"), "-1");
        assert_eq!(normalise_default("(0)::bigint"), "0");
        assert_eq!(normalise_default("'ride'::text"), "'ride'");
        assert_eq!(normalise_default("FALSE"), "false");
    }

    #[test]
    fn check_expressions_are_found_with_the_columns_they_read() {
        let create = "CREATE TABLE ratings (stars BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5), \
                      checked TEXT, CONSTRAINT c CHECK ((length(comment) < 10)))";
        let found = check_expressions(create);
        assert_eq!(found, ["stars BETWEEN 1 AND 5", "(length(comment) < 10)"]);
        let columns = [
            "stars".to_owned(),
            "comment".to_owned(),
            "checked".to_owned(),
        ];
        assert_eq!(columns_mentioned(&found[1], &columns), ["comment"]);
    }

    #[test]
    fn each_dialect_spells_the_same_logical_types() {
        for (sqlite, postgres) in [
            ("BIGINT", "bigint"),
            ("INTEGER", "bigint"),
            ("TEXT", "text"),
            ("DOUBLE PRECISION", "double precision"),
            ("REAL", "double precision"),
            ("BOOLEAN", "boolean"),
        ] {
            assert_eq!(
                sqlite_type(sqlite),
                postgres_type(postgres),
                "{sqlite} / {postgres}"
            );
        }
        assert_ne!(sqlite_type("REAL"), postgres_type("real"));
        assert_ne!(sqlite_type("INTEGER"), postgres_type("integer"));
    }
}
