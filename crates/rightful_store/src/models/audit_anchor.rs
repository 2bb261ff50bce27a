//! Signed heads of the audit trail (issue 12 item 10). The store keeps them and reads the entries
//! since one; signing and checking signatures is the engine's (the store has no keys).

use crate::schema::audit_anchors;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored anchor.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_anchors)]
pub struct AnchorRow {
    /// The anchored entry.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed, UTC.
    pub signed_at: NaiveDateTime,
    /// The compact JWS.
    pub jws: String,
    /// When it was delivered to the outside address.
    pub sent_at: Option<NaiveDateTime>,
}

/// Stores an anchor; `false` when its position is anchored already (another server was first).
pub fn insert(conn: &mut DbConn, row: &AnchorRow) -> Result<bool, StoreError> {
    let exists = audit_anchors::table
        .find(row.seq)
        .select(audit_anchors::seq)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    match diesel::insert_into(audit_anchors::table)
        .values(row)
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The anchor with the highest position, if any.
pub fn latest(conn: &mut DbConn) -> Result<Option<AnchorRow>, StoreError> {
    Ok(audit_anchors::table
        .order(audit_anchors::seq.desc())
        .select(AnchorRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every anchor, by position.
pub fn all(conn: &mut DbConn) -> Result<Vec<AnchorRow>, StoreError> {
    Ok(audit_anchors::table
        .order(audit_anchors::seq.asc())
        .select(AnchorRow::as_select())
        .load(conn)?)
}

/// Up to `limit` anchors not yet delivered to the outside address, oldest first.
pub fn unsent(conn: &mut DbConn, limit: i64) -> Result<Vec<AnchorRow>, StoreError> {
    Ok(audit_anchors::table
        .filter(audit_anchors::sent_at.is_null())
        .order(audit_anchors::seq.asc())
        .limit(limit)
        .select(AnchorRow::as_select())
        .load(conn)?)
}

/// Records the delivery of anchor `seq`.
pub fn mark_sent(conn: &mut DbConn, seq: i64, at: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(audit_anchors::table.find(seq))
        .set(audit_anchors::sent_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
