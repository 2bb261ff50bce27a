//! Issue 13 item 6: requests' downloadable results, in the engine's database so that every server
//! sharing it serves them. A result is a ZIP kept in chunks (`result_chunks`, in order of `seq`);
//! its `results` row, written in the same transaction as the chunks, says it is complete.

use crate::schema::{result_chunks as ch, results as r};
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The size of a chunk: the most a server holds in memory for one result at a time.
pub const CHUNK: usize = 256 * 1024;

/// A stored result.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = r)]
pub struct Stored {
    /// The request.
    pub request_id: String,
    /// The ZIP's size in bytes.
    pub size: i64,
    /// The ZIP's SHA-256, hex.
    pub sha256: String,
    /// When it was stored.
    pub created_at: NaiveDateTime,
}

/// Deletes request `id`'s result, its chunks and its row; whether there was anything to delete.
/// Call it inside a transaction with the writes that replace it.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let chunks = diesel::delete(ch::table.filter(ch::request_id.eq(id))).execute(conn)?;
    let rows = diesel::delete(r::table.find(id)).execute(conn)?;
    Ok(chunks + rows > 0)
}

/// Writes chunk `seq` of request `id`'s result.
pub fn put_chunk(conn: &mut DbConn, id: &str, seq: i32, bytes: &[u8]) -> Result<(), StoreError> {
    diesel::insert_into(ch::table)
        .values((ch::request_id.eq(id), ch::seq.eq(seq), ch::bytes.eq(bytes)))
        .execute(conn)?;
    Ok(())
}

/// Marks request `id`'s result complete (after its chunks, in the same transaction).
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    size: i64,
    sha256: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(r::table)
        .values((
            r::request_id.eq(id),
            r::size.eq(size),
            r::sha256.eq(sha256),
            r::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Request `id`'s result, if it is stored (complete).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Stored>, StoreError> {
    Ok(r::table
        .find(id)
        .select(Stored::as_select())
        .first(conn)
        .optional()?)
}

/// Chunk `seq` of request `id`'s result, if there is one.
pub fn chunk(conn: &mut DbConn, id: &str, seq: i32) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(ch::table
        .find((id, seq))
        .select(ch::bytes)
        .first(conn)
        .optional()?)
}

/// The requests that have a result or chunks stored (also chunks left without a `results` row).
pub fn ids(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = r::table.select(r::request_id).load(conn)?;
    out.extend(
        ch::table
            .select(ch::request_id)
            .distinct()
            .load::<String>(conn)?,
    );
    out.sort();
    out.dedup();
    Ok(out)
}
