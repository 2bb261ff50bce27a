//! Staff accounts.

use crate::schema::staff;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct Staff {
    /// UUID.
    pub id: String,
    /// Login name.
    pub username: String,
    /// `dpo` or `auditor`.
    pub role: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Disabled.
    pub disabled: bool,
    /// Tokens carry it; bumped to revoke every token issued before.
    pub token_version: i32,
}

/// Adds an account; fails if the username is taken.
pub fn insert(conn: &mut DbConn, account: &Staff) -> Result<(), StoreError> {
    diesel::insert_into(staff::table)
        .values(account)
        .execute(conn)?;
    Ok(())
}

/// The account with this username.
pub fn by_username(conn: &mut DbConn, username: &str) -> Result<Option<Staff>, StoreError> {
    Ok(staff::table
        .filter(staff::username.eq(username))
        .select(Staff::as_select())
        .first(conn)
        .optional()?)
}

/// The account with this id.
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<Staff>, StoreError> {
    Ok(staff::table
        .find(id)
        .select(Staff::as_select())
        .first(conn)
        .optional()?)
}

/// Every account, by username.
pub fn list(conn: &mut DbConn) -> Result<Vec<Staff>, StoreError> {
    Ok(staff::table
        .order(staff::username.asc())
        .select(Staff::as_select())
        .load(conn)?)
}

/// Disables or enables an account; either way every token issued before stops working.
pub fn set_disabled(conn: &mut DbConn, id: &str, disabled: bool) -> Result<(), StoreError> {
    diesel::update(staff::table.find(id))
        .set((
            staff::disabled.eq(disabled),
            staff::token_version.eq(staff::token_version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the password hash; every token issued before stops working.
pub fn set_password(conn: &mut DbConn, id: &str, password_hash: &str) -> Result<(), StoreError> {
    diesel::update(staff::table.find(id))
        .set((
            staff::password_hash.eq(password_hash),
            staff::token_version.eq(staff::token_version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes an account (its tokens then name no account and stop working).
pub fn remove(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    diesel::delete(staff::table.find(id)).execute(conn)?;
    Ok(())
}
