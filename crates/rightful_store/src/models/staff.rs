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
