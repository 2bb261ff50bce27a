//! Legal holds: a subject's records kept whatever their age (retention sweeps skip them).

use crate::schema::legal_holds as h;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A hold.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = h)]
pub struct Hold {
    /// UUID.
    pub id: String,
    /// Identity kind.
    pub kind: String,
    /// Identity value.
    pub value: String,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// When released.
    pub released_at: Option<NaiveDateTime>,
    /// Who released it.
    pub released_by: Option<String>,
}

/// Places a hold.
pub fn place(conn: &mut DbConn, hold: &Hold) -> Result<(), StoreError> {
    diesel::insert_into(h::table).values(hold).execute(conn)?;
    Ok(())
}

/// Releases a hold; `false` if there is no such active hold.
pub fn release(
    conn: &mut DbConn,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(h::table.find(id).filter(h::released_at.is_null()))
        .set((h::released_at.eq(at), h::released_by.eq(by)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Every hold, newest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<Hold>, StoreError> {
    Ok(h::table
        .order(h::created_at.desc())
        .select(Hold::as_select())
        .load(conn)?)
}

/// The active holds.
pub fn active(conn: &mut DbConn) -> Result<Vec<Hold>, StoreError> {
    Ok(h::table
        .filter(h::released_at.is_null())
        .select(Hold::as_select())
        .load(conn)?)
}
