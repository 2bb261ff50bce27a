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

/// Records notifications. Issue 14: a notification whose id is recorded already (the same
/// request × recipient × event, notified again after a crash) is not recorded twice: a webhook's
/// outcome is updated, a manual task is left as it is (the DPO may have done it).
pub fn insert(conn: &mut DbConn, rows: &[Notification]) -> Result<(), StoreError> {
    use processor_notifications as n;
    for row in rows {
        let found: Option<String> = n::table
            .find(&row.id)
            .select(n::channel)
            .first(conn)
            .optional()?;
        match found {
            None => {
                diesel::insert_into(n::table).values(row).execute(conn)?;
            }
            Some(channel) if channel == "webhook" => {
                diesel::update(n::table.find(&row.id))
                    .set((
                        n::status.eq(&row.status),
                        n::attempts.eq(row.attempts),
                        n::last_status.eq(row.last_status),
                        n::last_error.eq(&row.last_error),
                        n::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)?;
            }
            Some(_) => {}
        }
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
