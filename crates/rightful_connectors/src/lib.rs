#![doc = include_str!("../README.md")]
//!
//! Errors: every operation returns [`ConnectorError`], which names the store and never contains
//! an identity value or a row's content.

pub mod class;
pub mod connector;
pub mod hash;
pub mod schema;
pub mod sql;
pub mod testing;

pub use class::StoreErrorClass;
pub use connector::{
    Connector, ExportedRow, Found, Identities, PurgeOptions, TableHit, TablePurge,
};

/// What can go wrong with a site store.
///
/// Issue 12 item 7: a driver's error text is personal data (MariaDB's duplicate-key error
/// quotes the value), so none is kept. Each error carries a stable code (`pg:23505`,
/// `mysql:1062`, `sqlite:5`, `connect`, …, see [`class`]) and its [`StoreErrorClass`]; its
/// `Display` — what reaches logs, `execution_jobs.last_error`, the audit trail and API answers —
/// is only the store, the class, the code and the table or operation.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The store cannot be reached.
    #[error(
        "store `{store}` is unreachable: {} {code}",
        StoreErrorClass::of_code(code)
    )]
    Unreachable {
        /// Store name.
        store: String,
        /// The code (`connect`, `connect:url`, or the server's code when setting up the
        /// connection failed).
        code: String,
    },
    /// The map does not fit the live schema; every problem is listed (tables and columns, never
    /// values).
    #[error("store `{store}`: permanent schema: the map does not fit the database:\n  - {}", .problems.join("\n  - "))]
    Schema {
        /// Store name.
        store: String,
        /// Problems found.
        problems: Vec<String>,
    },
    /// A statement failed.
    #[error(
        "store `{store}`: {} {code} on table `{table}`",
        StoreErrorClass::of_code(code)
    )]
    Query {
        /// Store name.
        store: String,
        /// Table, or the operation in parentheses (`(transaction)`, `(catalogue)`).
        table: String,
        /// The code: `pg:<SQLSTATE>`, `mysql:<errno>`, `sqlite:<code>` or `driver:<what>`.
        code: String,
    },
    /// A rectification names a field the store cannot set, or a map gives no way to carry out a
    /// plan; the message names tables, columns and fields, never values.
    #[error("store `{store}`: permanent invalid: {message}")]
    Invalid {
        /// Store name.
        store: String,
        /// What is wrong.
        message: String,
    },
}

impl ConnectorError {
    /// The stable code: the server's (`pg:…`, `mysql:…`, `sqlite:…`) or Rightful's
    /// (`connect`, `schema`, `invalid`, `driver:…`).
    pub fn code(&self) -> &str {
        match self {
            Self::Unreachable { code, .. } | Self::Query { code, .. } => code,
            Self::Schema { .. } => "schema",
            Self::Invalid { .. } => "invalid",
        }
    }

    /// Whether retrying can help.
    pub fn class(&self) -> StoreErrorClass {
        StoreErrorClass::of_code(self.code())
    }

    /// The store concerned.
    pub fn store(&self) -> &str {
        match self {
            Self::Unreachable { store, .. }
            | Self::Schema { store, .. }
            | Self::Query { store, .. }
            | Self::Invalid { store, .. } => store,
        }
    }
}
