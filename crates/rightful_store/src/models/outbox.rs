//! Issue 14: side effects at most once.
//!
//! - `mail_outbox`: a notice to send after commit, keyed by (request, template). A sender claims a
//!   due row (a compare-and-set on `claimed_until`, so two servers never send it at once), sends it
//!   with its deterministic Message-ID and marks it sent, emptying its address, subject and body.
//! - `webhook_deliveries`: one Art. 19 webhook delivery per (request, recipient, event, occasion), its id
//!   recorded before the call and its outcome after.

use crate::schema::{mail_outbox as m, webhook_deliveries as w};
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A mail waiting to be sent, or the trace of one that was.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = m)]
pub struct Mail {
    /// UUID.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// The notice template.
    pub template: String,
    /// The deterministic Message-ID header.
    pub message_id: String,
    /// The address (empty once sent or given up on).
    pub recipient: String,
    /// The subject (empty once sent or given up on).
    pub subject: String,
    /// The body (empty once sent or given up on).
    pub body: String,
    /// The language written in.
    pub language: String,
    /// pending, sent, failed.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_at: NaiveDateTime,
    /// A sender's claim, until when.
    pub claimed_until: Option<NaiveDateTime>,
    /// The kind of the last failure.
    pub last_error: Option<String>,
    /// Written.
    pub created_at: NaiveDateTime,
    /// Sent.
    pub sent_at: Option<NaiveDateTime>,
}

/// Writes `mail` unless a mail with its (request, template) key exists; whether it was written.
/// Call it in the transaction whose commit makes the mail due.
pub fn enqueue(conn: &mut DbConn, mail: &Mail) -> Result<bool, StoreError> {
    let exists: i64 = m::table
        .filter(m::request_id.eq(&mail.request_id))
        .filter(m::template.eq(&mail.template))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(m::table).values(mail).execute(conn)?;
    Ok(true)
}

/// The ids of the pending mails due at `now` and not claimed by a live sender (of request
/// `request_id` only, when given), oldest first, at most `limit`.
pub fn due(
    conn: &mut DbConn,
    request_id: Option<&str>,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let mut q = m::table
        .filter(m::status.eq("pending"))
        .filter(m::next_at.le(now))
        .filter(m::claimed_until.is_null().or(m::claimed_until.lt(now)))
        .order(m::next_at.asc())
        .select(m::id)
        .limit(limit)
        .into_boxed();
    if let Some(r) = request_id {
        q = q.filter(m::request_id.eq(r.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Claims pending mail `id` until `until`, if no live sender holds it; the mail when claimed.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Option<Mail>, StoreError> {
    let n = diesel::update(
        m::table
            .find(id)
            .filter(m::status.eq("pending"))
            .filter(m::claimed_until.is_null().or(m::claimed_until.lt(now))),
    )
    .set(m::claimed_until.eq(until))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    Ok(m::table
        .find(id)
        .select(Mail::as_select())
        .first(conn)
        .optional()?)
}

/// Marks mail `id` sent (or, `failed`, given up on): its address, subject and body are emptied.
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    attempts: i32,
    error: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(m::table.find(id))
        .set((
            m::status.eq(status),
            m::attempts.eq(attempts),
            m::last_error.eq(error),
            m::recipient.eq(""),
            m::subject.eq(""),
            m::body.eq(""),
            m::claimed_until.eq(None::<NaiveDateTime>),
            m::sent_at.eq((status == "sent").then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Releases mail `id` after a failed attempt, due again at `next_at`.
pub fn retry(
    conn: &mut DbConn,
    id: &str,
    attempts: i32,
    error: &str,
    next_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(m::table.find(id))
        .set((
            m::attempts.eq(attempts),
            m::last_error.eq(error),
            m::next_at.eq(next_at),
            m::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The mails of a request (tests and the DPO).
pub fn for_request(conn: &mut DbConn, request_id: &str) -> Result<Vec<Mail>, StoreError> {
    Ok(m::table
        .filter(m::request_id.eq(request_id))
        .order(m::created_at.asc())
        .select(Mail::as_select())
        .load(conn)?)
}

/// An Art. 19 webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = w)]
pub struct Delivery {
    /// The delivery id.
    pub id: String,
    /// The request (or the retention sweep).
    pub request_id: String,
    /// Recipient id.
    pub recipient: String,
    /// erasure, rectification, restriction.
    pub event: String,
    /// execution, objection_upheld, retention.
    pub occasion: String,
    /// sending, acknowledged, failed.
    pub status: String,
    /// Attempts made in all.
    pub attempts: i32,
    /// Last HTTP status.
    pub last_status: Option<i32>,
    /// Last error.
    pub last_error: Option<String>,
    /// Recorded before the first call.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// Records delivery `d` before its call unless it is recorded already; the recorded row (an
/// earlier one when there was one: its id is reused).
pub fn begin(conn: &mut DbConn, d: &Delivery) -> Result<Delivery, StoreError> {
    let found = w::table
        .filter(w::request_id.eq(&d.request_id))
        .filter(w::recipient.eq(&d.recipient))
        .filter(w::event.eq(&d.event))
        .filter(w::occasion.eq(&d.occasion))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?;
    if let Some(found) = found {
        return Ok(found);
    }
    diesel::insert_into(w::table).values(d).execute(conn)?;
    Ok(d.clone())
}

/// Records the outcome of delivery `id` after its call.
pub fn outcome(
    conn: &mut DbConn,
    id: &str,
    status: &str,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(w::table.find(id))
        .set((
            w::status.eq(status),
            w::attempts.eq(attempts),
            w::last_status.eq(last_status),
            w::last_error.eq(last_error),
            w::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The deliveries of a request.
pub fn deliveries(conn: &mut DbConn, request_id: &str) -> Result<Vec<Delivery>, StoreError> {
    Ok(w::table
        .filter(w::request_id.eq(request_id))
        .order((w::created_at.asc(), w::recipient.asc()))
        .select(Delivery::as_select())
        .load(conn)?)
}
