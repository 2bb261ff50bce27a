#![doc = include_str!("../README.md")]
//!
//! Errors: every function returns [`StoreError`], which wraps diesel's errors, pool errors and
//! migration failures; callers map it to their own layer's error.

pub mod conn;
pub mod migrate;
pub mod models;
pub mod private;
pub mod schema;
pub mod testing;

pub use conn::{Backend, DbConn, Store};

/// What can go wrong in the engine's store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// No connection could be made or taken from the pool.
    #[error("cannot connect to the engine database: {0}")]
    Connect(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A stored value does not parse (corrupt row or a newer schema).
    #[error("invalid stored value: {0}")]
    Invalid(String),
    /// The blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}
