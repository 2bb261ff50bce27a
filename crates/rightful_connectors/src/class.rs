//! Store errors reduced to a stable code and a class (issue 12 item 7).
//!
//! A driver's error text is personal data: MariaDB's duplicate-key error quotes the value
//! (`Duplicate entry '…' for key 'email'`), PostgreSQL's detail quotes the key, SQLite's
//! messages name columns and sometimes values. So a [`crate::ConnectorError`] keeps only a code —
//! `pg:<SQLSTATE>`, `mysql:<errno>`, `sqlite:<extended result code>`, or one of Rightful's own
//! (`connect`, `schema`, `invalid`, `driver:…`) — and the class it falls in:
//!
//! - [`StoreErrorClass::Transient`]: the connection, a lock, a deadlock, a timeout, the server's
//!   resources — retrying later can succeed;
//! - [`StoreErrorClass::Permanent`]: a constraint, a permission, the syntax, the schema, anything
//!   unknown — retrying cannot fix it, a person must look.
//!
//! Where the codes come from. MySQL/MariaDB (issue 13 item 1): the pure-Rust `mysql` driver hands
//! over the server's error number itself, so `mysql:<errno>` is exact and no text is read; the
//! driver's own failures (I/O, protocol) map to the client error numbers libmysqlclient used
//! (2006 gone away, 2013 lost connection, 2002 cannot connect). PostgreSQL and SQLite: diesel
//! does not hand over the SQLSTATE or SQLite's extended result code; it maps the common ones to
//! [`DatabaseErrorKind`] (unique, foreign key, not null, check, serialization failure / deadlock,
//! closed connection), which gives the exact code. For the rest, the driver's message is matched
//! here against the servers' fixed English texts (the message is read, never kept): this covers
//! the codes the retry decision depends on (lock and statement timeouts, deadlocks, lost
//! connections, permissions, syntax). A PostgreSQL server answering in another language
//! (`lc_messages`) gives `pg:unknown`, which is permanent: the request goes to the DPO rather
//! than being retried blindly.

use crate::sql::{DbError, Dialect};
use diesel::result::{DatabaseErrorKind, Error};

/// Whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorClass {
    /// The connection, a lock, a deadlock, a timeout: retried with backoff (the request pauses).
    Transient,
    /// A constraint, a permission, the syntax, the schema, an unknown error: fails at once, for
    /// the DPO.
    Permanent,
}

impl StoreErrorClass {
    /// `transient` or `permanent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }

    /// The class of a code (`pg:40P01`, `mysql:1062`, `sqlite:5`, `connect`, …).
    pub fn of_code(code: &str) -> Self {
        let transient = match code.split_once(':') {
            Some(("pg", state)) => pg_transient(state),
            Some(("mysql", errno)) => errno.parse().is_ok_and(mysql_transient),
            Some(("sqlite", rc)) => rc.parse().is_ok_and(sqlite_transient),
            Some(("connect", what)) => what != "url", // `connect:url`: the URL itself is wrong
            Some(("driver", what)) => matches!(what, "transaction" | "commit"),
            _ => matches!(code, "connect" | "pool" | "task"),
        };
        if transient {
            Self::Transient
        } else {
            Self::Permanent
        }
    }
}

impl std::fmt::Display for StoreErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PostgreSQL: connection exceptions (08), transaction rollbacks (40: serialization failure,
/// deadlock), lock not available (55P03), query canceled — statement or lock timeout (57014),
/// operator intervention (57P01–57P05: shutdown, crash, cannot connect now), insufficient
/// resources (53), system errors (58: I/O).
fn pg_transient(state: &str) -> bool {
    ["08", "40", "53", "58"]
        .iter()
        .any(|c| state.starts_with(c))
        || matches!(state, "55P03" | "55006" | "57014")
        || state.starts_with("57P")
}

/// MySQL/MariaDB: lock wait timeout (1205), deadlock (1213), too many connections (1040, 1203),
/// server shutting down (1053), query interrupted or timed out (1317, 1969, 3024), the connection
/// killed (MariaDB 1927) or dropped for inactivity (MySQL 4031), the client's connection errors
/// (2002 cannot connect, 2003, 2006 gone away, 2013 lost, 2055 lost during reading).
fn mysql_transient(errno: u32) -> bool {
    matches!(
        errno,
        1040 | 1053
            | 1203
            | 1205
            | 1213
            | 1317
            | 1927
            | 1969
            | 3024
            | 4031
            | 2002
            | 2003
            | 2006
            | 2013
            | 2055
    )
}

/// SQLite, by primary result code (the low byte of the extended one): busy (5), locked (6),
/// interrupted (9), I/O error (10), disk full (13), cannot open (14), protocol (15).
fn sqlite_transient(rc: u32) -> bool {
    matches!(rc & 0xff, 5 | 6 | 9 | 10 | 13 | 14 | 15)
}

/// The stable code of a driver error on a store of `dialect`. A diesel message is read to tell
/// codes apart that diesel does not; it is never kept.
pub fn code_of(dialect: Dialect, e: &DbError) -> String {
    match e {
        DbError::Diesel(e) => diesel_code(dialect, e),
        DbError::Mysql(e) => mysql_code(e),
    }
}

/// The code of a diesel error (PostgreSQL, SQLite).
pub(crate) fn diesel_code(dialect: Dialect, e: &Error) -> String {
    match e {
        Error::DatabaseError(kind, info) => db_code(dialect, *kind, info.message()),
        Error::NotFound => "driver:not_found".into(),
        Error::DeserializationError(_) => "driver:deserialize".into(),
        Error::SerializationError(_) => "driver:serialize".into(),
        Error::QueryBuilderError(_) => "driver:query_builder".into(),
        Error::InvalidCString(_) => "driver:nul".into(),
        Error::RollbackErrorOnCommit { .. } => "driver:commit".into(),
        Error::BrokenTransactionManager => "driver:transaction".into(),
        Error::AlreadyInTransaction | Error::NotInTransaction | Error::RollbackTransaction => {
            "driver:transaction_state".into()
        }
        _ => "driver:other".into(),
    }
}

/// The code of a `mysql` driver error on a statement (issue 13 item 1): the server's error
/// number as it sent it (`mysql:1062`, `mysql:1213`, …), never read from a text; the driver's
/// own failures as the client error numbers: the connection broken while sending (2006) or
/// while reading (2013), a connection attempt failing (2002).
pub fn mysql_code(e: &mysql::Error) -> String {
    use mysql::DriverError as D;
    let client = |errno: u16| format!("mysql:{errno}");
    match e {
        mysql::Error::MySqlError(e) => client(e.code),
        mysql::Error::IoError(e) => client(io_errno(e)),
        mysql::Error::CodecError(mysql_common::proto::codec::error::PacketCodecError::Io(e)) => {
            client(io_errno(e))
        }
        mysql::Error::CodecError(_) => "driver:protocol".into(),
        mysql::Error::DriverError(D::CouldNotConnect(_) | D::ConnectTimeout) => client(2002),
        mysql::Error::DriverError(
            D::PacketOutOfSync | D::PacketTooLarge | D::UnexpectedPacket | D::Protocol41NotSet,
        ) => "driver:protocol".into(),
        mysql::Error::DriverError(D::MismatchedStmtParams(..) | D::Params(_) | D::MixedParams) => {
            "driver:params".into()
        }
        mysql::Error::DriverError(_) => "driver:other".into(),
        mysql::Error::UrlError(_) => "connect:url".into(),
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => {
            "driver:deserialize".into()
        }
    }
}

/// A broken connection: 2006 (gone away) when the server closed it before the request was sent,
/// else 2013 (lost during the query, or a read timeout).
fn io_errno(e: &std::io::Error) -> u16 {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::BrokenPipe | K::NotConnected => 2006,
        _ => 2013,
    }
}

/// The code of a MySQL/MariaDB connection that could not be opened: as [`connect_code`], from
/// the driver's error kind and the server's error number (1045 access denied, 1044 and 1698
/// denied too, 1049 unknown database), never from a text; a set-up statement's failure gives
/// the server's `mysql:<errno>`.
pub fn mysql_connect_code(e: &mysql::Error) -> String {
    use mysql::DriverError as D;
    use std::io::ErrorKind as K;
    let of_kind = |k: K| match k {
        // A missing Unix socket is a server that is not running.
        K::ConnectionRefused | K::NotFound => "connect:refused",
        K::TimedOut => "connect:timeout",
        K::PermissionDenied => "connect:file",
        _ => "connect",
    };
    match e {
        mysql::Error::UrlError(_) => "connect:url".into(),
        mysql::Error::DriverError(D::ConnectTimeout) => "connect:timeout".into(),
        mysql::Error::DriverError(D::CouldNotConnect(Some((_, _, kind)))) => of_kind(*kind).into(),
        mysql::Error::IoError(e) => of_kind(e.kind()).into(),
        mysql::Error::MySqlError(e) => match e.code {
            1044 | 1045 | 1698 => "connect:auth".into(),
            1049 => "connect:database".into(),
            _ => format!("mysql:{}", e.code),
        },
        mysql::Error::DriverError(
            D::UnknownAuthPlugin(_) | D::OldMysqlPasswordDisabled | D::CleartextPluginDisabled,
        ) => "connect:auth".into(),
        _ => "connect".into(),
    }
}

/// The code of a failed connection: `connect:url` when the URL cannot be used (permanent), else
/// `connect:refused`, `connect:auth`, `connect:database`, `connect:host`, `connect:timeout`,
/// `connect:file` or plain `connect` — all transient: they can be fixed without Rightful changing
/// (the server restarted, the password or the database restored), so a request waits for them.
/// The text of a connection error names the host, port, database and database user, never a
/// data subject; it is still not kept, only the kind read from it.
pub fn connect_code(e: &diesel::ConnectionError) -> String {
    let m = match e {
        diesel::ConnectionError::InvalidConnectionUrl(_) => return "connect:url".into(),
        diesel::ConnectionError::BadConnection(m) => m.to_ascii_lowercase(),
        _ => return "connect".into(),
    };
    let has = |ts: &[&str]| ts.iter().any(|t| m.contains(t));
    let kind = if has(&["refused", "can't connect"]) {
        "refused"
    } else if has(&[
        "password authentication failed",
        "access denied",
        "authentication",
    ]) {
        "auth"
    } else if has(&["unknown database"]) || (m.contains("database") && m.contains("does not exist"))
    {
        "database"
    } else if has(&[
        "could not translate host name",
        "unknown server host",
        "name or service not known",
    ]) {
        "host"
    } else if has(&["timeout", "timed out"]) {
        "timeout"
    } else if has(&["unable to open database"]) {
        "file"
    } else {
        return "connect".into();
    };
    format!("connect:{kind}")
}

fn db_code(dialect: Dialect, kind: DatabaseErrorKind, message: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("pg:{}", pg_state(kind, message)),
        // MySQL/MariaDB errors come from the `mysql` driver ([`mysql_code`]), not diesel.
        Dialect::Mysql => "mysql:unknown".into(),
        Dialect::Sqlite => format!("sqlite:{}", sqlite_code(kind, message)),
    }
}

/// The SQLSTATE: exact from diesel's kind where it has one, else from the server's English
/// primary message.
fn pg_state(kind: DatabaseErrorKind, m: &str) -> &'static str {
    match kind {
        DatabaseErrorKind::UniqueViolation => return "23505",
        DatabaseErrorKind::ForeignKeyViolation => return "23503",
        DatabaseErrorKind::NotNullViolation => return "23502",
        DatabaseErrorKind::CheckViolation => return "23514",
        DatabaseErrorKind::RestrictViolation => return "23001",
        DatabaseErrorKind::ExclusionViolation => return "23P01",
        DatabaseErrorKind::SerializationFailure => return "40001",
        DatabaseErrorKind::ReadOnlyTransaction => return "25006",
        DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
            return "08006";
        }
        _ => {}
    }
    const TEXTS: &[(&str, &str)] = &[
        ("deadlock detected", "40P01"),
        ("could not serialize access", "40001"),
        ("could not obtain lock", "55P03"),
        ("canceling statement due to lock timeout", "55P03"),
        ("canceling statement due to statement timeout", "57014"),
        ("canceling statement due to user request", "57014"),
        (
            "terminating connection due to administrator command",
            "57P01",
        ),
        ("terminating connection", "57P02"),
        ("the database system is", "57P03"),
        ("server closed the connection", "08006"),
        ("no connection to the server", "08006"),
        ("could not receive data from server", "08006"),
        ("could not send data to server", "08006"),
        ("connection to server", "08006"),
        ("too many connections", "53300"),
        ("remaining connection slots are reserved", "53300"),
        ("out of memory", "53200"),
        ("could not extend file", "53100"),
        ("permission denied", "42501"),
        ("must be owner of", "42501"),
        ("syntax error", "42601"),
        ("duplicate key value", "23505"),
        ("violates not-null constraint", "23502"),
        ("violates foreign key constraint", "23503"),
        ("violates check constraint", "23514"),
        ("value too long", "22001"),
        ("out of range", "22003"),
        ("invalid input syntax", "22P02"),
        ("invalid input value", "22P02"),
        ("current transaction is aborted", "25P02"),
        ("read-only transaction", "25006"),
    ];
    let lower = m.to_ascii_lowercase();
    if let Some((_, code)) = TEXTS.iter().find(|(t, _)| lower.contains(t)) {
        return code;
    }
    if lower.contains("does not exist") {
        return if lower.starts_with("relation") {
            "42P01"
        } else if lower.starts_with("column") {
            "42703"
        } else if lower.starts_with("function") {
            "42883"
        } else if lower.starts_with("database") {
            "3D000"
        } else if lower.starts_with("schema") {
            "3F000"
        } else {
            "42704"
        };
    }
    "unknown"
}

/// SQLite's extended result code: from diesel's kind, else from SQLite's fixed messages
/// (`sqlite3_errstr` and the constraint messages).
fn sqlite_code(kind: DatabaseErrorKind, m: &str) -> &'static str {
    match kind {
        DatabaseErrorKind::UniqueViolation => {
            return if m.contains("PRIMARY KEY") {
                "1555"
            } else {
                "2067"
            };
        }
        DatabaseErrorKind::ForeignKeyViolation => return "787",
        DatabaseErrorKind::NotNullViolation => return "1299",
        DatabaseErrorKind::CheckViolation => return "275",
        _ => {}
    }
    const TEXTS: &[(&str, &str)] = &[
        ("database is locked", "5"),
        ("database table is locked", "6"),
        ("database schema is locked", "6"),
        ("interrupted", "9"),
        ("disk i/o error", "10"),
        ("database or disk is full", "13"),
        ("unable to open database", "14"),
        ("attempt to write a readonly database", "8"),
        ("file is not a database", "26"),
        ("database disk image is malformed", "11"),
        ("unique constraint failed", "2067"),
        ("not null constraint failed", "1299"),
        ("foreign key constraint failed", "787"),
        ("check constraint failed", "275"),
        ("constraint failed", "19"),
        ("no such table", "1"),
        ("no such column", "1"),
        ("syntax error", "1"),
        ("datatype mismatch", "20"),
    ];
    let lower = m.to_ascii_lowercase();
    TEXTS
        .iter()
        .find(|(t, _)| lower.contains(t))
        .map_or("unknown", |(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StoreErrorClass::{Permanent, Transient};

    /// Issue 12 item 7: the classification table — transient codes are retried, permanent
    /// ones fail the request at once.
    #[test]
    fn codes_are_classified_transient_or_permanent_per_server() {
        let table = [
            // PostgreSQL SQLSTATEs.
            ("pg:40001", Transient), // serialization failure
            ("pg:40P01", Transient), // deadlock
            ("pg:55P03", Transient), // lock not available
            ("pg:57014", Transient), // statement timeout
            ("pg:08006", Transient), // connection failure
            ("pg:57P01", Transient), // admin shutdown
            ("pg:53300", Transient), // too many connections
            ("pg:23505", Permanent), // unique violation
            ("pg:23502", Permanent), // not null
            ("pg:42501", Permanent), // insufficient privilege
            ("pg:42601", Permanent), // syntax error
            ("pg:42P01", Permanent), // undefined table
            ("pg:unknown", Permanent),
            // MySQL/MariaDB error numbers.
            ("mysql:1213", Transient), // deadlock
            ("mysql:1205", Transient), // lock wait timeout
            ("mysql:2006", Transient), // server has gone away
            ("mysql:2013", Transient), // lost connection
            ("mysql:1927", Transient), // connection killed (MariaDB)
            ("mysql:1062", Permanent), // duplicate entry
            ("mysql:1048", Permanent), // column cannot be null
            ("mysql:1142", Permanent), // command denied
            ("mysql:1064", Permanent), // syntax
            ("mysql:unknown", Permanent),
            // SQLite extended result codes.
            ("sqlite:5", Transient),    // SQLITE_BUSY
            ("sqlite:517", Transient),  // SQLITE_BUSY_SNAPSHOT
            ("sqlite:6", Transient),    // SQLITE_LOCKED
            ("sqlite:2067", Permanent), // SQLITE_CONSTRAINT_UNIQUE
            ("sqlite:1299", Permanent), // SQLITE_CONSTRAINT_NOTNULL
            ("sqlite:1", Permanent),    // SQLITE_ERROR (syntax, no such table)
            // Rightful's own.
            ("connect", Transient),
            ("pool", Transient),
            ("connect:refused", Transient),
            ("connect:auth", Transient),
            ("connect:url", Permanent),
            ("schema", Permanent),
            ("invalid", Permanent),
            ("driver:transaction", Transient),
            ("driver:deserialize", Permanent),
        ];
        for (code, class) in table {
            assert_eq!(StoreErrorClass::of_code(code), class, "{code}");
        }
    }

    #[derive(Debug)]
    struct Msg(&'static str);
    impl diesel::result::DatabaseErrorInformation for Msg {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, m: &'static str) -> DbError {
        DbError::Diesel(Error::DatabaseError(kind, Box::new(Msg(m))))
    }

    /// Issue 12 item 7: the drivers' errors (as diesel hands them over: a kind and the
    /// server's message) give the right code, and the code never carries the message's values.
    #[test]
    fn driver_errors_give_their_code_and_never_their_values() {
        use DatabaseErrorKind::{SerializationFailure, UniqueViolation, Unknown};
        let cases = [
            (
                Dialect::Postgres,
                db(
                    UniqueViolation,
                    "duplicate key value violates unique constraint \"customers_email_key\"",
                ),
                "pg:23505",
            ),
            (
                Dialect::Postgres,
                db(
                    SerializationFailure,
                    "could not serialize access due to concurrent update",
                ),
                "pg:40001",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "deadlock detected"),
                "pg:40P01",
            ),
            (
                Dialect::Postgres,
                db(
                    Unknown,
                    "could not obtain lock on row in relation \"orders\"",
                ),
                "pg:55P03",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "canceling statement due to statement timeout"),
                "pg:57014",
            ),
            (
                Dialect::Postgres,
                db(
                    DatabaseErrorKind::ClosedConnection,
                    "server closed the connection unexpectedly",
                ),
                "pg:08006",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "permission denied for table orders"),
                "pg:42501",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "syntax error at or near \"x\""),
                "pg:42601",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "relation \"customers\" does not exist"),
                "pg:42P01",
            ),
            (
                Dialect::Sqlite,
                db(Unknown, "database is locked"),
                "sqlite:5",
            ),
            (
                Dialect::Sqlite,
                db(Unknown, "database table is locked"),
                "sqlite:6",
            ),
            (
                Dialect::Sqlite,
                db(
                    UniqueViolation,
                    "UNIQUE constraint failed: newsletter.email",
                ),
                "sqlite:2067",
            ),
            (
                Dialect::Postgres,
                db(Unknown, "quelque chose d'autre"),
                "pg:unknown",
            ),
            (
                Dialect::Postgres,
                DbError::Diesel(Error::BrokenTransactionManager),
                "driver:transaction",
            ),
        ];
        let bad = |m: &str| diesel::ConnectionError::BadConnection(m.into());
        assert_eq!(
            connect_code(&bad(
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
            )),
            "connect:refused"
        );
        assert_eq!(
            connect_code(&bad(
                "Access denied for user 'app'@'localhost' (using password: YES)"
            )),
            "connect:auth"
        );
        assert_eq!(
            connect_code(&bad("database \"shop\" does not exist")),
            "connect:database"
        );
        assert_eq!(
            connect_code(&diesel::ConnectionError::InvalidConnectionUrl("x".into())),
            "connect:url"
        );
        for (dialect, e, want) in cases {
            let code = code_of(dialect, &e);
            assert_eq!(code, want, "{e}");
            assert!(!code.contains('@') && !code.contains('\''), "{code}");
        }
    }

    fn server(code: u16, state: &str, message: &str) -> mysql::Error {
        mysql::Error::MySqlError(mysql::MySqlError {
            state: state.into(),
            message: message.into(),
            code,
        })
    }

    /// Issue 13 item 1: the `mysql` driver hands over the server's error number; the code is
    /// that number whatever the text says (here in another language, or quoting a value), and
    /// the driver's own failures give the client error numbers, transient.
    #[test]
    fn mysql_errors_give_the_servers_error_number_not_its_text() {
        use std::io::{Error as IoError, ErrorKind};
        let cases = [
            (
                server(
                    1062,
                    "23000",
                    "Duplicate entry 'bob@example.test' for key 'email'",
                ),
                "mysql:1062",
                Permanent,
            ),
            // A server answering in French (`lc_messages = fr_FR`): the number still decides.
            (
                server(
                    1062,
                    "23000",
                    "Duplicata du champ 'bob@example.test' pour la clef 'email'",
                ),
                "mysql:1062",
                Permanent,
            ),
            (
                server(1213, "40001", "Interblocage détecté"),
                "mysql:1213",
                Transient,
            ),
            (server(1205, "HY000", "?"), "mysql:1205", Transient),
            (server(1048, "23000", "?"), "mysql:1048", Permanent),
            (server(1142, "42000", "?"), "mysql:1142", Permanent),
            (server(1064, "42000", "?"), "mysql:1064", Permanent),
            (
                mysql::Error::IoError(IoError::new(ErrorKind::BrokenPipe, "x")),
                "mysql:2006",
                Transient,
            ),
            (
                mysql::Error::IoError(IoError::new(ErrorKind::UnexpectedEof, "x")),
                "mysql:2013",
                Transient,
            ),
            (
                mysql::Error::DriverError(mysql::DriverError::MixedParams),
                "driver:params",
                Permanent,
            ),
        ];
        for (e, want, class) in cases {
            let code = code_of(Dialect::Mysql, &DbError::Mysql(e));
            assert_eq!(code, want);
            assert_eq!(StoreErrorClass::of_code(&code), class, "{code}");
        }
        assert_eq!(
            mysql_connect_code(&server(1045, "28000", "Access denied for user 'app'@'h'")),
            "connect:auth"
        );
        assert_eq!(
            mysql_connect_code(&server(1049, "42000", "Unknown database 'shop'")),
            "connect:database"
        );
        assert_eq!(
            mysql_connect_code(&mysql::Error::DriverError(
                mysql::DriverError::CouldNotConnect(Some((
                    "127.0.0.1:1".into(),
                    "refused".into(),
                    ErrorKind::ConnectionRefused,
                )))
            )),
            "connect:refused"
        );
        let bad_url = crate::sql::mysql_opts("mysql://h/db?no_such_option=1")
            .err()
            .map(|e| mysql_connect_code(&e));
        assert_eq!(bad_url.as_deref(), Some("connect:url"));
    }
}
