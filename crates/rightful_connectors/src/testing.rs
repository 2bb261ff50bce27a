//! Throwaway site databases for tests: one per test, on the real servers named by
//! `RIGHTFUL_TEST_PG_URL` and `RIGHTFUL_TEST_MYSQL_URL` or in a temporary SQLite file, created
//! from a schema file and dropped on `Drop`.

use crate::sql::Dialect;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use mysql::prelude::Queryable;
use std::path::PathBuf;

/// Variable naming the PostgreSQL server for tests.
pub const PG_VAR: &str = "RIGHTFUL_TEST_PG_URL";
/// Variable naming the MySQL/MariaDB server for tests.
pub const MYSQL_VAR: &str = "RIGHTFUL_TEST_MYSQL_URL";

/// A throwaway site database.
pub struct TestSite {
    /// Its URL.
    pub url: String,
    admin: Option<(Dialect, String, String)>,
    dir: Option<PathBuf>,
}

/// A MySQL/MariaDB connection for fixtures (the `mysql` driver, text protocol).
fn mysql_conn(url: &str) -> Result<mysql::Conn, mysql::Error> {
    mysql::Conn::new(crate::sql::mysql_opts(url)?)
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn with_db(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let end = base[start..].find('/').map_or(base.len(), |i| start + i);
    let mut out = format!("{}/{name}", &base[..end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestSite {
    /// A database of `dialect` loaded with `schema_sql`; `None` when the server's variable is unset
    /// (PostgreSQL, MySQL). SQLite is always available.
    pub fn new(dialect: Dialect, schema_sql: &str) -> Option<Result<Self, String>> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let name = format!("rightful_site_{}", unique());
        match dialect {
            Dialect::Sqlite => Some((|| {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).map_err(|e| err(&e))?;
                let url = dir.join("site.sqlite3").display().to_string();
                let mut c = SqliteConnection::establish(&url).map_err(|e| err(&e))?;
                c.batch_execute(schema_sql).map_err(|e| err(&e))?;
                Ok(Self {
                    url,
                    admin: None,
                    dir: Some(dir),
                })
            })()),
            Dialect::Postgres => {
                let admin = std::env::var(PG_VAR).ok().filter(|s| !s.is_empty())?;
                Some((|| {
                    PgConnection::establish(&admin)
                        .map_err(|e| err(&e))?
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .map_err(|e| err(&e))?;
                    let url = with_db(&admin, &name);
                    PgConnection::establish(&url)
                        .map_err(|e| err(&e))?
                        .batch_execute(schema_sql)
                        .map_err(|e| err(&e))?;
                    Ok(Self {
                        url,
                        admin: Some((dialect, admin, name)),
                        dir: None,
                    })
                })())
            }
            Dialect::Mysql => {
                let admin = std::env::var(MYSQL_VAR).ok().filter(|s| !s.is_empty())?;
                Some((|| {
                    mysql_conn(&admin)
                        .map_err(|e| err(&e))?
                        .query_drop(format!("CREATE DATABASE {name}"))
                        .map_err(|e| err(&e))?;
                    let url = with_db(&admin, &name);
                    let mut c = mysql_conn(&url).map_err(|e| err(&e))?;
                    for stmt in schema_sql.split(';').map(str::trim).filter(|s| {
                        !s.is_empty() && !s.lines().all(|l| l.trim_start().starts_with("--"))
                    }) {
                        c.query_drop(stmt).map_err(|e| err(&e))?;
                    }
                    Ok(Self {
                        url,
                        admin: Some((dialect, admin, name)),
                        dir: None,
                    })
                })())
            }
        }
    }

    /// Runs SQL on the database (fixtures).
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        match Dialect::of_url(&self.url) {
            Dialect::Postgres => PgConnection::establish(&self.url)
                .map_err(|x| e(&x))?
                .batch_execute(sql)
                .map_err(|x| e(&x)),
            Dialect::Mysql => {
                let mut c = mysql_conn(&self.url).map_err(|x| e(&x))?;
                for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
                    c.query_drop(stmt).map_err(|x| e(&x))?;
                }
                Ok(())
            }
            Dialect::Sqlite => SqliteConnection::establish(&self.url)
                .map_err(|x| e(&x))?
                .batch_execute(sql)
                .map_err(|x| e(&x)),
        }
    }
}

impl Drop for TestSite {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        match &self.admin {
            Some((Dialect::Postgres, admin, name)) => {
                if let Ok(mut c) = PgConnection::establish(admin) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
            Some((Dialect::Mysql, admin, name)) => {
                if let Ok(mut c) = mysql_conn(admin) {
                    let _ = c.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
                }
            }
            _ => {}
        }
    }
}
