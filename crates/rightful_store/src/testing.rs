//! Test databases: a SQLite file in a temporary directory, or a PostgreSQL database created for
//! one test from `RIGHTFUL_TEST_PG_URL` and dropped when the guard is dropped (crates.io's
//! test-db pattern). Tests never share a database and never depend on an earlier run.

use crate::{Store, StoreError};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::path::PathBuf;

/// The variable naming the PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const PG_URL_VAR: &str = "RIGHTFUL_TEST_PG_URL";

/// A throwaway engine database.
pub struct TestDb {
    /// URL of the database.
    pub url: String,
    /// Where the SQLite file lives (removed on drop).
    dir: Option<PathBuf>,
    /// PostgreSQL admin URL and database name, to drop it.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite database file.
    pub fn sqlite() -> Result<Self, StoreError> {
        let dir =
            std::env::temp_dir().join(format!("rightful-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Connect(e.to_string()))?;
        let url = dir.join("state.sqlite3").display().to_string();
        Ok(Self {
            url,
            dir: Some(dir),
            pg: None,
        })
    }

    /// A fresh PostgreSQL database on the server named by `RIGHTFUL_TEST_PG_URL`; `None` when the
    /// variable is not set.
    pub fn postgres() -> Option<Result<Self, StoreError>> {
        let admin = std::env::var(PG_URL_VAR).ok().filter(|s| !s.is_empty())?;
        Some(Self::postgres_on(&admin))
    }

    fn postgres_on(admin: &str) -> Result<Self, StoreError> {
        // The name is generated here, never taken from input.
        let name = format!("rightful_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn =
            PgConnection::establish(admin).map_err(|e| StoreError::Connect(e.to_string()))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let url = replace_db_name(admin, &name);
        Ok(Self {
            url,
            dir: None,
            pg: Some((admin.to_owned(), name)),
        })
    }

    /// Opens the store on this database (runs migrations).
    pub fn store(&self) -> Result<Store, StoreError> {
        Store::open(&self.url, 4)
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = &self.pg
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::replace_db_name;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            replace_db_name("postgres://root@127.0.0.1:5432/test", "x"),
            "postgres://root@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_db_name("postgres://h/test?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            replace_db_name("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
