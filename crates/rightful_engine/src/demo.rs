//! `rightful demo seed`: creates the demo site's schemas in each store and fills them with
//! deterministic data for `scale` subjects. Rows are generated inside the database by the SQL in
//! `demo/seed/<store>.<dialect>.sql` (bulk `INSERT … SELECT` over a number series, one
//! transaction per chunk of subjects), and indexes are built after the load. No table name of
//! the demo site is in this code: schemas and generators are files.

use crate::stores::Store;
use diesel::r2d2::ManageConnection;
use rightful_connectors::sql::{Dialect, Manager, SiteConn};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seed options.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Subjects.
    pub scale: u64,
    /// Access-log rows per subject.
    pub logs_per_subject: u64,
    /// Subjects per transaction.
    pub chunk: u64,
    /// Drop the demo tables first when they exist.
    pub reset: bool,
    /// Leave a store alone when its tables exist already (for `make run`).
    pub if_missing: bool,
}

/// What the seed did in one store.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Store.
    pub store: String,
    /// Rows per table.
    pub rows: Vec<(String, u64)>,
    /// Seconds spent.
    pub seconds: f64,
    /// Left alone because it was seeded already.
    pub skipped: bool,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A file is missing or unreadable.
    #[error("{0}")]
    File(String),
    /// The store already holds demo tables.
    #[error(
        "store `{0}` already holds the demo tables: pass --reset to recreate them, or --if-missing to keep them"
    )]
    Exists(String),
    /// A statement failed.
    #[error("store `{store}`: {message}")]
    Sql {
        /// Store.
        store: String,
        /// The driver's message.
        message: String,
    },
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
        Dialect::Sqlite => "sqlite",
    }
}

fn statements(text: &str) -> Vec<String> {
    text.split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The file for `store` in `dir`: `<store>.<dialect>.sql`, else the only `<store>.*.sql`.
fn file_for(dir: &Path, store: &str, d: Dialect) -> Result<PathBuf, SeedError> {
    let exact = dir.join(format!("{store}.{}.sql", dialect_name(d)));
    if exact.exists() {
        return Ok(exact);
    }
    let mut any: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| SeedError::File(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{store}.")))
                && p.extension().is_some_and(|x| x == "sql")
        })
        .collect();
    any.sort();
    match (d, any.len()) {
        // SQLite accepts the other dialects' DDL; the others need their own file.
        (Dialect::Sqlite, 1..) if dir.ends_with("schema") => Ok(any.remove(0)),
        _ => Err(SeedError::File(format!(
            "no {} file for store `{store}` in {}",
            dialect_name(d),
            dir.display()
        ))),
    }
}

/// `scheme://user@host:port/db?x` → (`…/admin_db?x`, `db`).
fn split_db(url: &str, admin_db: &str) -> Option<(String, String)> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://")? + 3;
    let slash = start + base[start..].find('/')?;
    let db = base[slash + 1..].to_owned();
    let mut admin = format!("{}/{admin_db}", &base[..slash]);
    if let Some(q) = query {
        admin.push('?');
        admin.push_str(q);
    }
    rightful_core::storemap::is_identifier(&db).then_some((admin, db))
}

/// Creates the server database named in a PostgreSQL or MySQL URL when it does not exist.
fn ensure_database(store: &str, url: &str) -> Result<(), SeedError> {
    let sql_err = |e: &dyn std::fmt::Display| SeedError::Sql {
        store: store.to_owned(),
        message: e.to_string(),
    };
    let dialect = Dialect::of_url(url);
    if dialect == Dialect::Sqlite {
        let path = Path::new(url.strip_prefix("sqlite://").unwrap_or(url));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| sql_err(&e))?;
        }
        return Ok(());
    }
    if (Manager {
        url: url.to_owned(),
    })
    .connect()
    .is_ok()
    {
        return Ok(());
    }
    let admin_db = if dialect == Dialect::Postgres {
        "postgres"
    } else {
        "mysql"
    };
    let (admin, db) = split_db(url, admin_db).ok_or_else(|| SeedError::Sql {
        store: store.to_owned(),
        message: "the URL names no plain database".into(),
    })?;
    let mut c = Manager { url: admin }.connect().map_err(|e| sql_err(&e))?;
    // The name is a validated identifier from configuration.
    c.exec()
        .run(&format!("CREATE DATABASE {}", dialect.quote(&db)), &[])
        .map_err(|e| sql_err(&e))?;
    Ok(())
}

/// Seeds one store; `progress(done, total)` is called after each chunk.
pub fn seed_store(
    store: &Store,
    demo_dir: &Path,
    opts: &SeedOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Seeded, SeedError> {
    let name = store.map.name.clone();
    let started = Instant::now();
    let sql_err = |e: &dyn std::fmt::Display| SeedError::Sql {
        store: name.clone(),
        message: e.to_string(),
    };
    // An unknown scheme is refused here too, not seeded into a SQLite file of that name.
    let dialect = Dialect::parse_url(&store.url).map_err(|m| SeedError::Sql {
        store: name.clone(),
        message: format!("{m} ({})", store.origin()),
    })?;
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).map_err(|e| SeedError::File(format!("{}: {e}", p.display())))
    };
    let schema = read(file_for(&demo_dir.join("schema"), &name, dialect)?)?;
    let generator = read(file_for(&demo_dir.join("seed"), &name, dialect)?)?;
    ensure_database(&name, &store.url)?;
    let mut conn = Manager {
        url: store.url.clone(),
    }
    .connect()
    .map_err(|e| sql_err(&e))?;
    if let SiteConn::Sqlite(_) = conn {
        conn.exec().run("PRAGMA journal_mode = WAL", &[]).ok();
        conn.exec()
            .run("PRAGMA synchronous = OFF", &[])
            .map_err(|e| sql_err(&e))?;
    }
    let live = rightful_connectors::schema::read(conn.exec(), dialect).map_err(|e| sql_err(&e))?;
    let (tables, indexes): (Vec<String>, Vec<String>) = statements(&schema)
        .into_iter()
        .partition(|s| !s.to_ascii_uppercase().starts_with("CREATE INDEX"));
    let present: Vec<&String> = store
        .map
        .tables
        .iter()
        .map(|t| &t.name)
        .filter(|t| live.contains_key(*t))
        .collect();
    if !present.is_empty() {
        if opts.if_missing {
            return Ok(Seeded {
                store: name,
                rows: Vec::new(),
                seconds: 0.0,
                skipped: true,
            });
        }
        if !opts.reset {
            return Err(SeedError::Exists(name));
        }
        // Children first, so that foreign keys never block the drop.
        for t in store
            .map
            .erasure_order()
            .filter(|t| live.contains_key(&t.name))
        {
            conn.exec()
                .run(&format!("DROP TABLE {}", dialect.quote(&t.name)), &[])
                .map_err(|e| sql_err(&e))?;
        }
    }
    for stmt in &tables {
        conn.exec().run(stmt, &[]).map_err(|e| sql_err(&e))?;
    }
    // A generator may reach past the scale (`-- subjects: 110%`), e.g. for visitors known only
    // by their IP address.
    let percent = generator
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("-- subjects:")
                .and_then(|p| p.trim().trim_end_matches('%').parse::<u64>().ok())
        })
        .unwrap_or(100);
    let last = opts.scale.saturating_mul(percent) / 100;
    let gen_statements = statements(&generator);
    let mut from = 1;
    while from <= last {
        let to = (from + opts.chunk - 1).min(last);
        conn.transaction(|c| {
            for stmt in &gen_statements {
                let sql = stmt
                    .replace("{from}", &from.to_string())
                    .replace("{to}", &to.to_string())
                    .replace("{logs}", &opts.logs_per_subject.to_string());
                c.run(&sql, &[])?;
            }
            Ok::<_, rightful_connectors::sql::DbError>(())
        })
        .map_err(|e| sql_err(&e))?;
        progress(to, last);
        from = to + 1;
    }
    for stmt in &indexes {
        conn.exec().run(stmt, &[]).map_err(|e| sql_err(&e))?;
    }
    let mut rows = Vec::new();
    for t in &store.map.tables {
        let sql = format!(
            "SELECT {} AS doc FROM {}",
            dialect.json_object(&[("n".into(), "COUNT(*)".into())]),
            dialect.quote(&t.name)
        );
        let docs = conn.exec().docs(&sql, &[]).map_err(|e| sql_err(&e))?;
        let n = docs
            .first()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|v| v["n"].as_u64())
            .unwrap_or(0);
        rows.push((t.name.clone(), n));
    }
    Ok(Seeded {
        store: name,
        rows,
        seconds: started.elapsed().as_secs_f64(),
        skipped: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_split_from_server_urls() {
        assert_eq!(
            split_db("postgres://u@h:5432/shop?x=1", "postgres"),
            Some(("postgres://u@h:5432/postgres?x=1".into(), "shop".into()))
        );
        assert_eq!(
            split_db("mysql://root@h/cms", "mysql"),
            Some(("mysql://root@h/mysql".into(), "cms".into()))
        );
        assert_eq!(split_db("mysql://root@h/x;drop", "mysql"), None);
    }

    #[test]
    fn sql_files_split_into_statements_without_comments() {
        assert_eq!(
            statements("-- c\nCREATE TABLE a (x INT);\n\n-- d\nCREATE INDEX i ON a (x);\n"),
            vec!["CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"]
        );
    }
}
