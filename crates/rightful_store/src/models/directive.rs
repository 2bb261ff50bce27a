//! Specific post-mortem directives (LIL art. 85, checklist D2), versioned, never updated in place.

use crate::schema::deceased_subjects as d;
use crate::schema::post_mortem_directives as p;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One version.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = p)]
pub struct Version {
    /// The subject.
    pub subject_email: String,
    /// From 1.
    pub version: i32,
    /// The request that recorded it.
    pub request_id: String,
    /// register, update or revoke.
    pub action: String,
    /// JSON directives.
    pub directives: String,
    /// JSON executor.
    pub executor: Option<String>,
    /// When.
    pub recorded_at: NaiveDateTime,
}

/// Every version for a subject, oldest first.
pub fn history(conn: &mut DbConn, email: &str) -> Result<Vec<Version>, StoreError> {
    Ok(p::table
        .filter(p::subject_email.eq(email))
        .order(p::version)
        .select(Version::as_select())
        .load(conn)?)
}

/// The directives in force: the latest version unless it is a revocation.
pub fn in_force(conn: &mut DbConn, email: &str) -> Result<Option<Version>, StoreError> {
    let latest = p::table
        .filter(p::subject_email.eq(email))
        .order(p::version.desc())
        .select(Version::as_select())
        .first(conn)
        .optional()?;
    Ok(latest.filter(|v| v.action != "revoke"))
}

/// Appends a version; returns its number.
pub fn record(
    conn: &mut DbConn,
    email: &str,
    request_id: &str,
    action: &str,
    directives: &str,
    executor: Option<&str>,
    at: NaiveDateTime,
) -> Result<i32, StoreError> {
    conn.transaction(|conn| {
        let last: Option<i32> = p::table
            .filter(p::subject_email.eq(email))
            .select(diesel::dsl::max(p::version))
            .first(conn)?;
        let version = last.unwrap_or(0) + 1;
        diesel::insert_into(p::table)
            .values((
                p::subject_email.eq(email),
                p::version.eq(version),
                p::request_id.eq(request_id),
                p::action.eq(action),
                p::directives.eq(directives),
                p::executor.eq(executor),
                p::recorded_at.eq(at),
            ))
            .execute(conn)?;
        Ok(version)
    })
}

/// Records that the subject died (a verified notice of death); recording twice keeps the first.
pub fn record_death(
    conn: &mut DbConn,
    email: &str,
    request_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    if is_deceased(conn, email)? {
        return Ok(());
    }
    diesel::insert_into(d::table)
        .values((
            d::email.eq(email),
            d::request_id.eq(request_id),
            d::recorded_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the subject's death was recorded.
pub fn is_deceased(conn: &mut DbConn, email: &str) -> Result<bool, StoreError> {
    Ok(d::table.find(email).count().get_result::<i64>(conn)? > 0)
}
