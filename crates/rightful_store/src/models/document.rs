//! Documents a request carries (A6-A7, A13, D5). The content is kept only until the DPO checks
//! it; the row then keeps who checked it, when, how and the outcome.

use crate::schema::request_documents as d;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What is known of a document, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct Document {
    /// The request.
    pub request_id: String,
    /// Its kind.
    pub kind: String,
    /// When it was asked for.
    pub requested_at: NaiveDateTime,
    /// `policy` or the DPO who asked.
    pub requested_by: String,
    /// When it was uploaded.
    pub received_at: Option<NaiveDateTime>,
    /// Media type.
    pub content_type: Option<String>,
    /// When it was checked.
    pub checked_at: Option<NaiveDateTime>,
    /// Who checked it.
    pub checked_by: Option<String>,
    /// accepted or rejected.
    pub outcome: Option<String>,
    /// How.
    pub method: Option<String>,
}

/// Asks for a document (again): an earlier row of the same kind is reset, its content dropped.
pub fn request(
    conn: &mut DbConn,
    request_id: &str,
    kind: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::delete(d::table.find((request_id, kind))).execute(conn)?;
        diesel::insert_into(d::table)
            .values((
                d::request_id.eq(request_id),
                d::kind.eq(kind),
                d::requested_at.eq(at),
                d::requested_by.eq(by),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// The documents of a request, without content.
pub fn list(conn: &mut DbConn, request_id: &str) -> Result<Vec<Document>, StoreError> {
    Ok(d::table
        .filter(d::request_id.eq(request_id))
        .order(d::kind)
        .select(Document::as_select())
        .load(conn)?)
}

/// Stores an upload for a document that was asked for and not yet checked; `false` if none is
/// awaited.
pub fn upload(
    conn: &mut DbConn,
    request_id: &str,
    kind: &str,
    content_type: &str,
    content: &[u8],
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        d::table
            .find((request_id, kind))
            .filter(d::checked_at.is_null()),
    )
    .set((
        d::received_at.eq(at),
        d::content_type.eq(content_type),
        d::content.eq(content),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The uploaded content and its media type, until checked.
pub fn content(
    conn: &mut DbConn,
    request_id: &str,
    kind: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let row: Option<(Option<String>, Option<Vec<u8>>)> = d::table
        .find((request_id, kind))
        .select((d::content_type, d::content))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((Some(t), Some(c))) => Some((t, c)),
        _ => None,
    })
}

/// Records the check and deletes the content (A7); `false` if there was no upload to check.
pub fn check(
    conn: &mut DbConn,
    request_id: &str,
    kind: &str,
    by: &str,
    outcome: &str,
    method: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        d::table
            .find((request_id, kind))
            .filter(d::content.is_not_null()),
    )
    .set((
        d::content.eq(None::<Vec<u8>>),
        d::checked_at.eq(at),
        d::checked_by.eq(by),
        d::outcome.eq(outcome),
        d::method.eq(method),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Settles a requested document that never travels to us: an authorised agent's mandate it
/// attests to hold, under the terms the DPO accepted when registering it (A13). `false` when no
/// such document is waiting.
pub fn attest(
    conn: &mut DbConn,
    request_id: &str,
    kind: &str,
    by: &str,
    method: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        d::table
            .find((request_id, kind))
            .filter(d::outcome.is_null()),
    )
    .set((
        d::checked_at.eq(at),
        d::checked_by.eq(by),
        d::outcome.eq("accepted"),
        d::method.eq(method),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes the content of documents uploaded before `before` and still unchecked; returns the
/// `(request, kind)` of each.
pub fn purge_unchecked(
    conn: &mut DbConn,
    before: NaiveDateTime,
) -> Result<Vec<(String, String)>, StoreError> {
    conn.transaction(|conn| {
        let stale: Vec<(String, String)> = d::table
            .filter(d::content.is_not_null())
            .filter(d::received_at.lt(before))
            .select((d::request_id, d::kind))
            .load(conn)?;
        for (r, k) in &stale {
            diesel::update(d::table.find((r, k)))
                .set((
                    d::content.eq(None::<Vec<u8>>),
                    d::content_type.eq(None::<String>),
                    d::received_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        Ok(stale)
    })
}

/// Bytes of document content still held, across all requests (for tests and health checks).
pub fn held(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(d::table
        .filter(d::content.is_not_null())
        .count()
        .get_result(conn)?)
}
