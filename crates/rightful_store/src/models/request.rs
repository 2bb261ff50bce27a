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

/// Lists requests, soonest due first, optionally with one status.
pub fn list(conn: &mut DbConn, status: Option<Status>) -> Result<Vec<RequestRow>, StoreError> {
    let mut q = requests::table
        .select(RequestRow::as_select())
        .order((requests::due_on.asc(), requests::id.asc()))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(requests::status.eq(s.as_str()));
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
    conn.transaction(|conn| {
        let Some(row) = find(conn, id)? else {
            return Err(StoreError::Query(diesel::result::Error::NotFound));
        };
        let from = row.status()?;
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
            return Err(StoreError::Query(
                diesel::result::Error::RollbackTransaction,
            ));
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
