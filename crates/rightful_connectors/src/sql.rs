//! SQL per dialect, typed bound values, and the one place SQL text is executed ([`Exec`]).

use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use mysql::prelude::Queryable;
use rightful_core::storemap::StoreKind;

/// The three SQL dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `"ident"`, `$n`, `json_build_object`.
    Postgres,
    /// MySQL/MariaDB: `` `ident` ``, `?`, `JSON_OBJECT`.
    Mysql,
    /// SQLite: `"ident"`, `?`, `json_object`.
    Sqlite,
}

impl Dialect {
    /// The dialect of a URL, by scheme; anything else is a SQLite path.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Self::Mysql
        } else {
            Self::Sqlite
        }
    }

    /// The dialect of a URL, refusing an unknown scheme (`postgress://`) instead of taking it for
    /// a SQLite file: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`, `sqlite://`, or a
    /// plain path (a SQLite file). The message names the scheme only, never the URL (it may
    /// hold a password).
    pub fn parse_url(url: &str) -> Result<Self, String> {
        match url_scheme(url) {
            None | Some("sqlite" | "file") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            Some("mysql" | "mariadb") => Ok(Self::Mysql),
            Some(other) => Err(format!(
                "unknown URL scheme `{other}://`: use postgres://, postgresql://, mysql://, mariadb://, sqlite:// or a SQLite file path"
            )),
        }
    }

    /// The dialect a map's `kind` declares.
    pub fn of_kind(kind: StoreKind) -> Self {
        match kind {
            StoreKind::Postgres => Self::Postgres,
            StoreKind::Mysql => Self::Mysql,
            StoreKind::Sqlite => Self::Sqlite,
        }
    }

    /// Quotes an identifier. Names come only from the validated map (plain identifiers), and are
    /// quoted anyway so that reserved words work.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Self::Mysql => format!("`{}`", ident.replace('`', "``")),
            Self::Postgres | Self::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// A JSON object of `(key, SQL expression)` pairs, as text.
    pub fn json_object(self, pairs: &[(String, String)]) -> String {
        let args: Vec<String> = pairs
            .iter()
            .map(|(k, e)| format!("'{}', {e}", k.replace('\'', "''")))
            .collect();
        match self {
            Self::Postgres => format!("json_build_object({})::text", args.join(", ")),
            Self::Mysql => format!("CAST(JSON_OBJECT({}) AS CHAR)", args.join(", ")),
            Self::Sqlite => format!("json_object({})", args.join(", ")),
        }
    }

    /// A bound `YYYY-MM-DD` text compared with a date or timestamp column.
    pub fn date_param(self, placeholder: &str) -> String {
        match self {
            Self::Postgres | Self::Mysql => format!("CAST({placeholder} AS DATE)"),
            // SQLite keeps dates as ISO text: a date-only bound compares correctly.
            Self::Sqlite => placeholder.to_owned(),
        }
    }

    /// The SQL literal for boolean true.
    pub fn true_literal(self) -> &'static str {
        match self {
            Self::Postgres => "TRUE",
            Self::Mysql | Self::Sqlite => "1",
        }
    }

    /// The literal for false in a boolean (or tinyint) column.
    pub fn false_literal(self) -> &'static str {
        match self {
            Self::Postgres => "FALSE",
            Self::Mysql | Self::Sqlite => "0",
        }
    }
}

/// Builds placeholders in a dialect's style while collecting the bound values.
#[derive(Debug)]
pub struct Binds {
    dialect: Dialect,
    /// The values, in placeholder order.
    pub values: Vec<Bind>,
}

impl Binds {
    /// No values yet.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            values: Vec::new(),
        }
    }

    /// Adds a value and returns its placeholder.
    pub fn push(&mut self, v: Bind) -> String {
        self.values.push(v);
        match self.dialect {
            Dialect::Postgres => format!("${}", self.values.len()),
            Dialect::Mysql | Dialect::Sqlite => "?".to_owned(),
        }
    }

    /// Binds every value; returns their placeholders joined for an `IN (…)` list.
    pub fn list(&mut self, values: &[Bind]) -> String {
        values
            .iter()
            .map(|v| self.push(v.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Values bound in one `IN (…)` list at most (issue 14): far below every backend's limit on the
/// parameters of one statement (PostgreSQL 65,535; SQLite 32,766; MySQL/MariaDB 65,535), with
/// room for the other values the statement binds. A longer list is split and its statement run
/// once per chunk ([`docs_in`], [`run_in`]).
pub const CHUNK: usize = 5_000;

/// Parameters bound by one statement at most when a statement binds several values per row
/// (the keyed-hash `CASE`): below SQLite's 32,766, the lowest limit.
pub const MAX_PARAMS: usize = 30_000;

/// Runs a query once per chunk of `values` (at most [`CHUNK`] each), the results concatenated;
/// `sql` builds the statement for one chunk, binding it where its `IN (…)` stands. No statement
/// runs when `values` is empty.
pub fn docs_in(
    c: &mut dyn Exec,
    dialect: Dialect,
    values: &[Bind],
    sql: &dyn Fn(&mut Binds, &[Bind]) -> String,
) -> Result<Vec<String>, DbError> {
    let mut out = Vec::new();
    for chunk in values.chunks(CHUNK) {
        let mut binds = Binds::new(dialect);
        let text = sql(&mut binds, chunk);
        out.extend(c.docs(&text, &binds.values)?);
    }
    Ok(out)
}

/// Runs a statement once per chunk of `values` (at most [`CHUNK`] each), the affected rows
/// added; on the caller's connection, so inside its transaction when it holds one.
pub fn run_in(
    c: &mut dyn Exec,
    dialect: Dialect,
    values: &[Bind],
    sql: &dyn Fn(&mut Binds, &[Bind]) -> String,
) -> Result<usize, DbError> {
    let mut n = 0;
    for chunk in values.chunks(CHUNK) {
        let mut binds = Binds::new(dialect);
        let text = sql(&mut binds, chunk);
        n += c.run(&text, &binds.values)?;
    }
    Ok(n)
}

/// How many statements a connector ran inside its transactions (writes: erase, rectify,
/// restrict, purge, archive): queries and statements that change rows, counted apart.
#[derive(Debug, Default)]
pub struct Statements {
    /// Queries (`SELECT`).
    pub queries: std::sync::atomic::AtomicU64,
    /// Statements that change rows (`UPDATE`, `DELETE`).
    pub changes: std::sync::atomic::AtomicU64,
}

/// An executor that counts the statements it passes on.
pub struct Counted<'a> {
    /// The executor.
    pub inner: &'a mut dyn Exec,
    /// Where the counts go.
    pub counts: &'a Statements,
}

impl Exec for Counted<'_> {
    fn docs(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError> {
        self.counts
            .queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.docs(sql, binds)
    }

    fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<usize, DbError> {
        self.counts
            .changes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.run(sql, binds)
    }
}

/// A bound value, typed like its column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bind {
    /// Integer columns.
    Int(i64),
    /// Text columns.
    Text(String),
}

#[derive(QueryableByName)]
struct Doc {
    #[diesel(sql_type = Text)]
    doc: String,
}

/// A driver's error: diesel's (PostgreSQL, SQLite) or the `mysql` crate's (MySQL/MariaDB).
///
/// It keeps the driver's own error, whose text may quote values (issue 12 item 7): only
/// [`crate::class::code_of`] reads it, and a [`crate::ConnectorError`] keeps only the code.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// PostgreSQL or SQLite, through diesel.
    #[error(transparent)]
    Diesel(#[from] diesel::result::Error),
    /// MySQL/MariaDB, through the pure-Rust `mysql` driver (issue 13 item 1): the server's error
    /// number is [`mysql::Error::MySqlError`]'s `code`.
    #[error(transparent)]
    Mysql(#[from] mysql::Error),
}

/// Executes SQL text with bound values; implemented for each concrete connection. This is the
/// only place in the crate that turns text into a statement.
pub trait Exec {
    /// Runs a query whose single column `doc` is text (a JSON object), returning the texts.
    fn docs(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError>;
    /// Runs a statement, returning the affected row count.
    fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<usize, DbError>;
}

macro_rules! impl_exec {
    ($conn:ty) => {
        impl Exec for $conn {
            #[expect(
                clippy::disallowed_methods,
                reason = "identifiers come from the validated map; values are bound"
            )]
            fn docs(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError> {
                let mut q = diesel::sql_query(sql).into_boxed();
                for b in binds {
                    q = match b {
                        Bind::Int(i) => q.bind::<BigInt, _>(*i),
                        Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                    };
                }
                Ok(q.load::<Doc>(self)?.into_iter().map(|d| d.doc).collect())
            }

            #[expect(
                clippy::disallowed_methods,
                reason = "identifiers come from the validated map; values are bound"
            )]
            fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<usize, DbError> {
                let mut q = diesel::sql_query(sql).into_boxed();
                for b in binds {
                    q = match b {
                        Bind::Int(i) => q.bind::<BigInt, _>(*i),
                        Bind::Text(s) => q.bind::<Text, _>(s.clone()),
                    };
                }
                Ok(q.execute(self)?)
            }
        }
    };
}

impl_exec!(PgConnection);
impl_exec!(SqliteConnection);

/// The values as the parameters of a MySQL prepared statement (`COM_STMT_EXECUTE`): never
/// spliced into the text.
fn mysql_params(binds: &[Bind]) -> mysql::Params {
    if binds.is_empty() {
        return mysql::Params::Empty;
    }
    mysql::Params::Positional(
        binds
            .iter()
            .map(|b| match b {
                Bind::Int(i) => mysql::Value::Int(*i),
                Bind::Text(s) => mysql::Value::Bytes(s.clone().into_bytes()),
            })
            .collect(),
    )
}

/// MySQL/MariaDB: every statement is prepared and its values sent as parameters, as diesel did.
fn mysql_docs(q: &mut impl Queryable, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError> {
    let mut result = q.exec_iter(sql, mysql_params(binds))?;
    let mut out = Vec::new();
    if let Some(set) = result.iter() {
        for row in set {
            let mut row = row?;
            let doc = match row.take_opt::<String, _>("doc") {
                Some(Ok(doc)) => doc,
                Some(Err(e)) => return Err(mysql::Error::from(e).into()),
                None => return Err(mysql::Error::FromRowError(row).into()),
            };
            out.push(doc);
        }
    }
    // Any further result set is read (and its error reported) before the connection is reused.
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(out)
}

fn mysql_run(q: &mut impl Queryable, sql: &str, binds: &[Bind]) -> Result<usize, DbError> {
    let mut result = q.exec_iter(sql, mysql_params(binds))?;
    let n = result.affected_rows();
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

impl Exec for mysql::Conn {
    fn docs(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError> {
        mysql_docs(self, sql, binds)
    }

    fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<usize, DbError> {
        mysql_run(self, sql, binds)
    }
}

impl Exec for mysql::Transaction<'_> {
    fn docs(&mut self, sql: &str, binds: &[Bind]) -> Result<Vec<String>, DbError> {
        mysql_docs(self, sql, binds)
    }

    fn run(&mut self, sql: &str, binds: &[Bind]) -> Result<usize, DbError> {
        mysql_run(self, sql, binds)
    }
}

/// A connection to a site store.
pub enum SiteConn {
    /// PostgreSQL.
    Pg(PgConnection),
    /// MySQL/MariaDB (the pure-Rust `mysql` driver).
    Mysql(Box<mysql::Conn>),
    /// SQLite.
    Sqlite(SqliteConnection),
}

impl SiteConn {
    /// Runs `f` inside one transaction; rolled back when it fails.
    pub fn transaction<T, E>(
        &mut self,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        match self {
            Self::Pg(c) => c
                .transaction(|c| f(c).map_err(Nested::Op))
                .map_err(Nested::flatten),
            Self::Mysql(c) => {
                let mut tx = c
                    .start_transaction(mysql::TxOpts::default())
                    .map_err(|e| E::from(e.into()))?;
                // Dropping the transaction without a commit rolls it back.
                let out = f(&mut tx)?;
                tx.commit().map_err(|e| E::from(e.into()))?;
                Ok(out)
            }
            Self::Sqlite(c) => c
                .immediate_transaction(|c| f(c).map_err(Nested::Op))
                .map_err(Nested::flatten),
        }
    }

    /// The connection as an executor, outside a transaction.
    pub fn exec(&mut self) -> &mut dyn Exec {
        match self {
            Self::Pg(c) => c,
            Self::Mysql(c) => c.as_mut(),
            Self::Sqlite(c) => c,
        }
    }
}

/// Diesel's transactions need an error that diesel's own converts into: the caller's, or
/// diesel's while beginning or committing.
enum Nested<E> {
    Op(E),
    Db(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for Nested<E> {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl<E: From<DbError>> Nested<E> {
    fn flatten(self) -> E {
        match self {
            Self::Op(e) => e,
            Self::Db(e) => E::from(DbError::Diesel(e)),
        }
    }
}

/// Opens connections for the pool by the URL's scheme, keeping the driver's real error.
#[derive(Debug, Clone)]
pub struct Manager {
    /// The URL.
    pub url: String,
}

/// A connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Opening failed (PostgreSQL, SQLite).
    #[error(transparent)]
    Open(#[from] diesel::ConnectionError),
    /// Set-up failed (PostgreSQL, SQLite).
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    /// Opening or setting up a MySQL/MariaDB connection failed.
    #[error(transparent)]
    Mysql(#[from] mysql::Error),
}

impl OpenError {
    /// The stable code of the failure (issue 12 item 7): `connect`, `connect:url`, or the
    /// server's code when the set-up statements failed.
    pub fn code(&self, dialect: Dialect) -> String {
        match self {
            Self::Open(diesel::ConnectionError::CouldntSetupConfiguration(e)) | Self::Query(e) => {
                crate::class::diesel_code(dialect, e)
            }
            Self::Open(e) => crate::class::connect_code(e),
            Self::Mysql(e) => crate::class::mysql_connect_code(e),
        }
    }
}

/// The `mysql` driver's options for a `mysql://` or `mariadb://` URL, set up as diesel's
/// connection was: affected rows count the rows matched (`CLIENT_FOUND_ROWS`), UTC session time
/// zone, utf8mb4 throughout. The URL's own parameters (e.g. `tcp_connect_timeout_ms`,
/// `prefer_socket`, `socket`) are the `mysql` crate's.
pub fn mysql_opts(url: &str) -> Result<mysql::Opts, mysql::Error> {
    let url = match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    };
    let opts = mysql::Opts::from_url(&url).map_err(mysql::Error::UrlError)?;
    Ok(mysql::OptsBuilder::from_opts(opts)
        .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS)
        .init(vec!["SET time_zone = '+00:00'", "SET NAMES utf8mb4"])
        .into())
}

impl ManageConnection for Manager {
    type Connection = SiteConn;
    type Error = OpenError;

    fn connect(&self) -> Result<SiteConn, OpenError> {
        Ok(match Dialect::of_url(&self.url) {
            Dialect::Postgres => SiteConn::Pg(PgConnection::establish(&self.url)?),
            Dialect::Mysql => SiteConn::Mysql(Box::new(mysql::Conn::new(mysql_opts(&self.url)?)?)),
            Dialect::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut c = SqliteConnection::establish(path)?;
                c.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")?;
                SiteConn::Sqlite(c)
            }
        })
    }

    fn is_valid(&self, conn: &mut SiteConn) -> Result<(), OpenError> {
        match conn {
            SiteConn::Pg(c) => c.batch_execute("SELECT 1")?,
            SiteConn::Mysql(c) => c.ping()?,
            SiteConn::Sqlite(c) => c.batch_execute("SELECT 1")?,
        }
        Ok(())
    }

    fn has_broken(&self, _conn: &mut SiteConn) -> bool {
        false
    }
}

/// The scheme of `url` (`postgres` in `postgres://…`), or `None` for a plain path. A one-letter
/// "scheme" is a Windows drive, part of a path.
pub fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let is_scheme = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_per_dialect_and_placeholders_numbered() {
        assert_eq!(Dialect::Postgres.quote("order"), "\"order\"");
        assert_eq!(Dialect::Mysql.quote("order"), "`order`");
        assert_eq!(Dialect::Mysql.quote("a`b"), "`a``b`");
        let mut pg = Binds::new(Dialect::Postgres);
        assert_eq!(pg.push(Bind::Int(1)), "$1");
        assert_eq!(pg.push(Bind::Text("x".into())), "$2");
        let mut my = Binds::new(Dialect::Mysql);
        assert_eq!(my.push(Bind::Int(1)), "?");
        assert_eq!(Dialect::of_url("postgresql://h/db"), Dialect::Postgres);
        assert_eq!(Dialect::of_url("mysql://h/db"), Dialect::Mysql);
        assert_eq!(Dialect::of_url("data/logs.sqlite3"), Dialect::Sqlite);
        // Issue 13 item 5: an unknown scheme is refused, not opened as a SQLite file.
        assert_eq!(Dialect::parse_url("mariadb://h/db"), Ok(Dialect::Mysql));
        assert_eq!(
            Dialect::parse_url("sqlite://data/x.db"),
            Ok(Dialect::Sqlite)
        );
        assert_eq!(Dialect::parse_url("data/x.db"), Ok(Dialect::Sqlite));
        let err = Dialect::parse_url("postgress://u:secret@h/db").unwrap_err();
        assert!(
            err.starts_with("unknown URL scheme `postgress://`"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }
}
