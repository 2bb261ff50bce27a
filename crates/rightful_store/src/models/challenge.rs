//! E-mail identity challenges.

use crate::schema::identity_challenges;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A pending code.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = identity_challenges)]
pub struct Challenge {
    /// The request.
    pub request_id: String,
    /// SHA-256 of request id and code.
    pub code_hash: String,
    /// Sent.
    pub sent_at: NaiveDateTime,
    /// Expires.
    pub expires_at: NaiveDateTime,
    /// Attempts left.
    pub attempts_left: i32,
}

/// Records a new challenge, replacing an earlier one of the same request.
pub fn put(conn: &mut DbConn, c: &Challenge) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::delete(identity_challenges::table.find(&c.request_id)).execute(conn)?;
        diesel::insert_into(identity_challenges::table)
            .values(c)
            .execute(conn)?;
        Ok(())
    })
}

/// The pending challenge of a request.
pub fn get(conn: &mut DbConn, request_id: &str) -> Result<Option<Challenge>, StoreError> {
    Ok(identity_challenges::table
        .find(request_id)
        .select(Challenge::as_select())
        .first(conn)
        .optional()?)
}

/// Takes one attempt before the code is compared, in one conditional UPDATE, so that concurrent
/// guesses cannot compare more codes than the limit allows: `false` when none is left (or no
/// challenge is pending).
pub fn take_attempt(conn: &mut DbConn, request_id: &str) -> Result<bool, StoreError> {
    let taken = diesel::update(
        identity_challenges::table
            .find(request_id)
            .filter(identity_challenges::attempts_left.gt(0)),
    )
    .set(identity_challenges::attempts_left.eq(identity_challenges::attempts_left - 1))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Removes the challenge (used or abandoned).
pub fn remove(conn: &mut DbConn, request_id: &str) -> Result<(), StoreError> {
    diesel::delete(identity_challenges::table.find(request_id)).execute(conn)?;
    Ok(())
}
