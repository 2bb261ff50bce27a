//! Art. 19 notifications of processors and recipients, and the manual tasks they become.

use crate::schema::processor_notifications;
use crate::{DbConn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// A notification row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = processor_notifications)]
pub struct Notification {
    /// UUID.
    pub id: String,
    /// The request it belongs to.
    pub request_id: String,
    /// Recipient id.
    pub recipient: String,
    /// erasure, rectification, restriction.
    pub event: String,
    /// webhook or manual.
    pub channel: String,
    /// acknowledged, failed, manual_pending, manual_done.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last HTTP status.
    pub last_status: Option<i32>,
    /// Last error.
    pub last_error: Option<String>,
    /// Due date of a manual task.
    pub due_on: Option<NaiveDate>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Records notifications in one statement per backend batch.
pub fn insert(conn: &mut DbConn, rows: &[Notification]) -> Result<(), StoreError> {
    for row in rows {
        diesel::insert_into(processor_notifications::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The notifications of a request, oldest first.
pub fn for_request(conn: &mut DbConn, request_id: &str) -> Result<Vec<Notification>, StoreError> {
    Ok(processor_notifications::table
        .filter(processor_notifications::request_id.eq(request_id))
        .order((
            processor_notifications::created_at.asc(),
            processor_notifications::recipient.asc(),
        ))
        .select(Notification::as_select())
        .load(conn)?)
}
