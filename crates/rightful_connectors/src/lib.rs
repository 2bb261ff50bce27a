#![doc = include_str!("../README.md")]
//!
//! Errors: every operation returns [`ConnectorError`], which names the store and never contains
//! an identity value or a row's content.

pub mod connector;
pub mod hash;
pub mod schema;
pub mod sql;
pub mod testing;

pub use connector::{
    Connector, ExportedRow, Found, Identities, PurgeOptions, TableHit, TablePurge,
};

/// What can go wrong with a site store.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The store cannot be reached.
    #[error("store `{store}` is unreachable: {message}")]
    Unreachable {
        /// Store name.
        store: String,
        /// The driver's message (no personal data: connection errors carry host and database).
        message: String,
    },
    /// The map does not fit the live schema; every problem is listed.
    #[error("store `{store}`: the map does not fit the database:\n  - {}", .problems.join("\n  - "))]
    Schema {
        /// Store name.
        store: String,
        /// Problems found.
        problems: Vec<String>,
    },
    /// A statement failed.
    #[error("store `{store}`: query on table `{table}` failed: {message}")]
    Query {
        /// Store name.
        store: String,
        /// Table.
        table: String,
        /// The driver's message.
        message: String,
    },
    /// A rectification names a field the store cannot set.
    #[error("store `{store}`: {message}")]
    Invalid {
        /// Store name.
        store: String,
        /// What is wrong.
        message: String,
    },
}
