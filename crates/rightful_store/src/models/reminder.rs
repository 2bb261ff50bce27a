//! Deadline reminders sent (one per request and threshold).

use crate::schema::reminders as r;
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Records that the reminder was sent; `false` if it already had been (another instance or an
/// earlier sweep).
pub fn claim(
    conn: &mut DbConn,
    request_id: &str,
    threshold: i32,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let exists = r::table
        .find((request_id, threshold))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(r::table)
        .values((
            r::request_id.eq(request_id),
            r::threshold.eq(threshold),
            r::sent_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}
