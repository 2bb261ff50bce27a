//! Connections: the `DbConn` multi-backend connection, the r2d2 pool and [`Store`].
//!
//! The URL's scheme picks the backend (`postgres://` or `postgresql://` for PostgreSQL; a path or
//! `sqlite://path` for SQLite), so a wrong Postgres URL reports the real connection error instead
//! of diesel's generic "invalid connection url for multiconnection".

use crate::StoreError;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use std::time::Duration;

pub use multi::DbConn;

/// Private so that the items diesel's derive generates stay out of the public API.
mod multi {
    use diesel::{PgConnection, SqliteConnection};

    /// One connection to the engine database, whichever backend it is.
    #[derive(diesel::MultiConnection)]
    pub enum DbConn {
        /// The embedded default.
        Sqlite(SqliteConnection),
        /// Production.
        Pg(PgConnection),
    }
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend for `url` (any URL that is not PostgreSQL's is taken for a SQLite path; see
    /// [`Backend::parse`], which refuses unknown schemes).
    pub fn of(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The backend for `url`: `postgres://` or `postgresql://`, `sqlite://` or a plain path; any
    /// other scheme (`postgress://`, `mysql://`) is refused instead of being opened as a SQLite
    /// file. The message names the scheme, never the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, _) = url.split_once(':').unwrap_or(("", ""));
        let is_scheme = scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        match scheme {
            _ if !is_scheme => Ok(Self::Sqlite),
            "sqlite" | "file" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(format!(
                "unknown URL scheme `{other}://` for the engine database: use postgres://, postgresql://, sqlite:// or a SQLite file path"
            )),
        }
    }
}

/// Opens connections for the pool, dispatching on the URL's scheme.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

/// A connection could not be opened or checked.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Opening failed.
    #[error(transparent)]
    Open(#[from] diesel::ConnectionError),
    /// The set-up statements or the health check failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        match self.backend {
            Backend::Postgres => Ok(DbConn::Pg(PgConnection::establish(&self.url)?)),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                // The database holds identity documents and addresses: created 0600 before
                // SQLite opens it (its -wal and -shm then get the same mode), tightened if older.
                crate::private::sqlite_file(path).map_err(|e| {
                    diesel::ConnectionError::BadConnection(format!(
                        "SQLite file {path}: cannot make the engine database private: {e}"
                    ))
                })?;
                // The driver's message does not say which file it could not open.
                let mut c = SqliteConnection::establish(path).map_err(|e| {
                    diesel::ConnectionError::BadConnection(format!("SQLite file {path}: {e}"))
                })?;
                // WAL lets readers run beside the single writer; the busy timeout makes writers
                // wait instead of failing with "database is locked".
                // secure_delete overwrites deleted content (an identity document once checked,
                // A7) instead of leaving it in free pages.
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
                )?;
                crate::private::sqlite_companions(path).map_err(|e| {
                    diesel::ConnectionError::BadConnection(format!(
                        "SQLite file {path}: cannot make the engine database private: {e}"
                    ))
                })?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        Ok(conn.batch_execute("SELECT 1")?)
    }

    /// Whether the driver saw the connection break (a PostgreSQL server restarted, a transaction
    /// left open by a panic): such a connection is dropped instead of going back to the pool.
    /// With no query on every checkout (issue 14), this is what keeps dead connections out.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        match conn {
            DbConn::Pg(c) => c.is_broken(),
            DbConn::Sqlite(c) => c.is_broken(),
        }
    }
}

/// The engine's store: a pool of connections to one database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite has a single writer: every use of the store is serialised in this process, so a
    /// transaction that reads and then writes never meets another writer and fails with
    /// "database is locked" (its busy timeout does not apply to such an upgrade).
    writer: Option<std::sync::Arc<std::sync::Mutex<()>>>,
}

std::thread_local! {
    /// Whether this thread holds the SQLite writer lock already (a nested use goes through).
    static HOLDS_WRITER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `url` with up to `max_size` pooled connections and runs pending migrations.
    pub fn open(url: &str, max_size: u32) -> Result<Self, StoreError> {
        let backend = Backend::parse(url).map_err(StoreError::Connect)?;
        let manager = Manager {
            url: url.to_owned(),
            backend,
        };
        // One direct attempt first: the driver's real error at once, not the pool's retries.
        drop(
            manager
                .connect()
                .map_err(|e| StoreError::Connect(e.to_string()))?,
        );
        // SQLite has one writer at a time; more connections only add lock waits for writers.
        let size = if backend == Backend::Sqlite {
            max_size.clamp(1, 4)
        } else {
            max_size.max(1)
        };
        // No `SELECT 1` before every use (issue 14): a round trip per checkout, on every step
        // and every request. A connection the driver saw break is dropped on return
        // (`has_broken`), and a query on a dead one fails with a connection error like any other.
        let pool = Pool::builder()
            .test_on_check_out(false)
            .max_size(size)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let writer = (backend == Backend::Sqlite).then(Default::default);
        let store = Self {
            pool,
            backend,
            writer,
        };
        store.with_conn(crate::migrate::run)?;
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn get(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Connect(e.to_string()))
    }

    /// Runs `f` with a pooled connection on this thread (CLI and tests).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let nested = HOLDS_WRITER.with(std::cell::Cell::get);
        let _guard = match &self.writer {
            Some(lock) if !nested => {
                let guard = lock
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                HOLDS_WRITER.with(|h| h.set(true));
                Some(WriterGuard(guard))
            }
            _ => None,
        };
        let mut conn = self.get()?;
        f(&mut conn)
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool, inside the caller's span.
    /// (Defined after [`Store::with_conn`], which holds SQLite's writer lock.)
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            store.with_conn(f)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Holds the SQLite writer lock; clears the thread's flag when dropped.
struct WriterGuard<'a>(
    #[expect(dead_code, reason = "held for its Drop")] std::sync::MutexGuard<'a, ()>,
);

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        HOLDS_WRITER.with(|h| h.set(false));
    }
}
