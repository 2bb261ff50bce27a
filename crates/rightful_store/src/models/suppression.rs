//! Marketing objections honoured later (C7): keyed hashes of addresses per purpose.

use crate::schema::suppressions as s;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Adds an entry; an existing one stays.
pub fn add(
    conn: &mut DbConn,
    purpose: &str,
    hash: &str,
    request_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    if is_suppressed(conn, purpose, hash)? {
        return Ok(());
    }
    diesel::insert_into(s::table)
        .values((
            s::purpose.eq(purpose),
            s::subject_hash.eq(hash),
            s::request_id.eq(request_id),
            s::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the hash is suppressed for the purpose.
pub fn is_suppressed(conn: &mut DbConn, purpose: &str, hash: &str) -> Result<bool, StoreError> {
    Ok(s::table
        .find((purpose, hash))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Removes the entry (the subject took back a marketing objection); how many went.
pub fn remove(conn: &mut DbConn, purpose: &str, hash: &str) -> Result<usize, StoreError> {
    Ok(diesel::delete(s::table.find((purpose, hash))).execute(conn)?)
}
