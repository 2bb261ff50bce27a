//! The daily cap on mail a stranger can cause to one address (codes, acknowledgements).

use crate::schema::mail_quota;
use crate::{DbConn, StoreError};
use chrono::NaiveDate;
use diesel::prelude::*;

/// Counts one message to `address_hash` on `day` if fewer than `cap` were counted: `false` when
/// the cap is reached. A conditional UPDATE, then an INSERT for the day's first message (a
/// concurrent first insert loses on the primary key and tries the UPDATE again), so concurrent
/// senders never exceed the cap on either backend.
pub fn take(
    conn: &mut DbConn,
    address_hash: &str,
    day: NaiveDate,
    cap: i32,
) -> Result<bool, StoreError> {
    if cap <= 0 {
        return Ok(false);
    }
    for _ in 0..2 {
        let updated = diesel::update(
            mail_quota::table
                .find((address_hash, day))
                .filter(mail_quota::sent.lt(cap)),
        )
        .set(mail_quota::sent.eq(mail_quota::sent + 1))
        .execute(conn)?;
        if updated == 1 {
            return Ok(true);
        }
        let exists = mail_quota::table
            .find((address_hash, day))
            .select(mail_quota::sent)
            .first::<i32>(conn)
            .optional()?
            .is_some();
        if exists {
            return Ok(false);
        }
        let inserted = diesel::insert_into(mail_quota::table)
            .values((
                mail_quota::address_hash.eq(address_hash),
                mail_quota::day.eq(day),
                mail_quota::sent.eq(1),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(true),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}

/// Forgets the days before `before` (the counts are kept one day).
pub fn prune(conn: &mut DbConn, before: NaiveDate) -> Result<usize, StoreError> {
    Ok(diesel::delete(mail_quota::table.filter(mail_quota::day.lt(before))).execute(conn)?)
}
