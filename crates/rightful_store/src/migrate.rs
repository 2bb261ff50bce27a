//! Embedded migrations, one set per backend (`migrations/sqlite`, `migrations/postgres`), chosen
//! by matching on the connection.

use crate::{DbConn, StoreError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Runs every pending migration; returns how many ran.
pub fn run(conn: &mut DbConn) -> Result<usize, StoreError> {
    let done = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| v.len()),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES).map(|v| v.len()),
    };
    let ran = done.map_err(|e| StoreError::Migration(e.to_string()))?;
    if ran > 0 {
        tracing::info!(migrations.count = ran, "migrated the engine database");
    }
    Ok(ran)
}
