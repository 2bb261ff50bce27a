//! Requests and their lifecycle events.

use crate::schema::{request_events, requests};
use crate::{DbConn, StoreError};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rightful_core::lifecycle::Status;

/// A stored request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = requests)]
pub struct RequestRow {
    /// UUID.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Status.
    pub status: String,
    /// Channel.
    pub channel: String,
    /// Receipt, UTC.
    pub received_at: NaiveDateTime,
    /// Due date in force.
    pub due_on: NaiveDate,
    /// Extended.
    pub extended: bool,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

impl RequestRow {
    /// The parsed status.
    pub fn status(&self) -> Result<Status, StoreError> {
        self.status.parse().map_err(StoreError::Invalid)
    }
}

/// A request to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = requests)]
pub struct NewRequest<'a> {
    /// UUID.
    pub id: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Initial status.
    pub status: &'a str,
    /// Channel.
    pub channel: &'a str,
    /// Receipt.
    pub received_at: NaiveDateTime,
    /// Due date.
    pub due_on: NaiveDate,
    /// Extended.
    pub extended: bool,
    /// Same as received_at.
    pub updated_at: NaiveDateTime,
}

/// A lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = request_events)]
pub struct RequestEvent {
    /// UUID.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// When.
    pub at: NaiveDateTime,
    /// Who.
    pub actor: String,
    /// From.
    pub from_status: Option<String>,
    /// To.
    pub to_status: String,
    /// Why.
    pub reason: String,
}

/// Inserts a request and its first event.
pub fn insert(conn: &mut DbConn, new: &NewRequest<'_>, actor: &str) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(requests::table)
            .values(new)
            .execute(conn)?;
        diesel::insert_into(request_events::table)
            .values(RequestEvent {
                id: uuid::Uuid::new_v4().to_string(),
                request_id: new.id.to_owned(),
                at: new.received_at,
                actor: actor.to_owned(),
                from_status: None,
                to_status: new.status.to_owned(),
                reason: String::new(),
            })
            .execute(conn)?;
        Ok(())
    })
}

/// Finds a request by id.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<RequestRow>, StoreError> {
    Ok(requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?)
}

/// Which requests to list; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    /// This type.
    pub kind: Option<String>,
    /// Due on or after this day.
    pub due_from: Option<NaiveDate>,
    /// Due on or before this day.
    pub due_before: Option<NaiveDate>,
    /// At most this many (default: all).
    pub limit: Option<i64>,
}

/// Lists requests, soonest due first.
pub fn list(conn: &mut DbConn, f: &Filter) -> Result<Vec<RequestRow>, StoreError> {
    let mut q = requests::table
        .select(RequestRow::as_select())
        .order((requests::due_on.asc(), requests::id.asc()))
        .into_boxed();
    if !f.statuses.is_empty() {
        let s: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        q = q.filter(requests::status.eq_any(s));
    }
    if let Some(k) = &f.kind {
        q = q.filter(requests::kind.eq(k.clone()));
    }
    if let Some(d) = f.due_from {
        q = q.filter(requests::due_on.ge(d));
    }
    if let Some(d) = f.due_before {
        q = q.filter(requests::due_on.le(d));
    }
    if let Some(n) = f.limit {
        q = q.limit(n);
    }
    Ok(q.load(conn)?)
}

/// Moves a request to `to` if the lifecycle allows it, recording the event. The current status
/// is re-read inside the transaction, so two concurrent transitions cannot both succeed from the
/// same state.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    to: Status,
    actor: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<Result<Status, rightful_core::lifecycle::InvalidTransition>, StoreError> {
    transition_from(conn, id, &Status::ALL, to, actor, reason, at)
}

/// Like [`transition`], only from one of the statuses `from_any`: the status read and the
/// update are one compare-and-set, so a request that moved meanwhile (approved while an agent
/// revokes it) is left alone.
pub fn transition_from(
    conn: &mut DbConn,
    id: &str,
    from_any: &[Status],
    to: Status,
    actor: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<Result<Status, rightful_core::lifecycle::InvalidTransition>, StoreError> {
    conn.transaction(|conn| {
        let Some(row) = find(conn, id)? else {
            return Err(StoreError::Query(diesel::result::Error::NotFound));
        };
        let from = row.status()?;
        if !from_any.contains(&from) {
            return Ok(Err(rightful_core::lifecycle::InvalidTransition {
                from,
                to,
            }));
        }
        if let Err(e) = from.transition(to) {
            return Ok(Err(e));
        }
        let changed = diesel::update(
            requests::table
                .find(id)
                .filter(requests::status.eq(from.as_str())),
        )
        .set((
            requests::status.eq(to.as_str()),
            requests::updated_at.eq(at),
        ))
        .execute(conn)?;
        if changed != 1 {
            // Another writer moved the request first: the transition from `from` no longer
            // applies.
            return Ok(Err(rightful_core::lifecycle::InvalidTransition {
                from,
                to,
            }));
        }
        diesel::insert_into(request_events::table)
            .values(RequestEvent {
                id: uuid::Uuid::new_v4().to_string(),
                request_id: id.to_owned(),
                at,
                actor: actor.to_owned(),
                from_status: Some(from.as_str().to_owned()),
                to_status: to.as_str().to_owned(),
                reason: reason.to_owned(),
            })
            .execute(conn)?;
        Ok(Ok(to))
    })
}

/// The events of a request, oldest first.
pub fn events(conn: &mut DbConn, id: &str) -> Result<Vec<RequestEvent>, StoreError> {
    Ok(request_events::table
        .filter(request_events::request_id.eq(id))
        .order(request_events::at.asc())
        .select(RequestEvent::as_select())
        .load(conn)?)
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::request_subjects)]
pub struct RequestSubject {
    /// The request.
    pub request_id: String,
    /// E-mail address.
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// JSON details.
    pub details: String,
    /// SHA-256 of the per-request token.
    pub token_hash: String,
    /// The earlier request this one repeats.
    pub duplicate_of: Option<String>,
    /// When the requester's identity was verified; `None` until then, and again after a DPO's
    /// doubt. Until then the request token proves only that its holder made the request.
    pub verified_at: Option<NaiveDateTime>,
}

/// Records (`Some`) or clears (`None`, a DPO's doubt) the verification of the requester's
/// identity.
pub fn set_verified(
    conn: &mut DbConn,
    id: &str,
    at: Option<NaiveDateTime>,
) -> Result<(), StoreError> {
    use crate::schema::request_subjects as rs;
    diesel::update(rs::table.find(id))
        .set(rs::verified_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// Inserts a request with its subject and first event, in one transaction.
pub fn insert_with_subject(
    conn: &mut DbConn,
    new: &NewRequest<'_>,
    subject: &RequestSubject,
    actor: &str,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        insert(conn, new, actor)?;
        diesel::insert_into(crate::schema::request_subjects::table)
            .values(subject)
            .execute(conn)?;
        Ok(())
    })
}

/// The subject of a request.
pub fn subject(conn: &mut DbConn, id: &str) -> Result<Option<RequestSubject>, StoreError> {
    use crate::schema::request_subjects as rs;
    Ok(rs::table
        .find(id)
        .select(RequestSubject::as_select())
        .first(conn)
        .optional()?)
}

/// The most recent request of `kind` from `email` received since `since` and not final, if any
/// (duplicate detection).
pub fn recent_open(
    conn: &mut DbConn,
    email: &str,
    kind: &str,
    since: NaiveDateTime,
) -> Result<Option<RequestRow>, StoreError> {
    use crate::schema::request_subjects as rs;
    let finals = final_statuses();
    Ok(requests::table
        .inner_join(rs::table)
        .filter(rs::email.eq(email))
        .filter(rs::duplicate_of.is_null())
        // Only a request whose identity was verified can be repeated: a stranger's unverified
        // request with someone's address must never stand in the way of theirs.
        .filter(rs::verified_at.is_not_null())
        .filter(requests::kind.eq(kind))
        .filter(requests::received_at.ge(since))
        .filter(requests::status.ne_all(finals))
        .order(requests::received_at.desc())
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?)
}

/// Sets the due date in force (an extension).
pub fn set_due(
    conn: &mut DbConn,
    id: &str,
    due_on: NaiveDate,
    extended: bool,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(requests::table.find(id))
        .set((
            requests::due_on.eq(due_on),
            requests::extended.eq(extended),
            requests::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The completed requests of one of `kinds` made by any of `emails` (normalised addresses),
/// other than `except`: whose results an erasure of that subject deletes (Rightful's own copies
/// of their data).
pub fn completed_by_emails(
    conn: &mut DbConn,
    emails: &[String],
    kinds: &[&str],
    except: &str,
) -> Result<Vec<String>, StoreError> {
    use crate::schema::request_subjects as rs;
    if emails.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    Ok(requests::table
        .inner_join(rs::table)
        .filter(rs::email.eq_any(emails))
        .filter(requests::kind.eq_any(kinds))
        .filter(requests::id.ne(except))
        .filter(requests::status.eq(Status::Completed.as_str()))
        .order(requests::received_at.asc())
        .select(requests::id)
        .load(conn)?)
}

/// Requests counted by `(status, kind)`, for `/metrics` (issue 13 item 7).
pub fn count_by_status_and_kind(
    conn: &mut DbConn,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(requests::table
        .group_by((requests::status, requests::kind))
        .select((requests::status, requests::kind, diesel::dsl::count_star()))
        .load(conn)?)
}

/// The stored spellings of the final statuses (no transition out of them).
fn final_statuses() -> Vec<&'static str> {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .map(Status::as_str)
        .collect()
}

/// Requests past their due date on `today` and not final (`due_on < today`), for `/metrics`.
pub fn count_overdue(conn: &mut DbConn, today: NaiveDate) -> Result<i64, StoreError> {
    let finals = final_statuses();
    Ok(requests::table
        .filter(requests::due_on.lt(today))
        .filter(requests::status.ne_all(finals))
        .count()
        .get_result(conn)?)
}
