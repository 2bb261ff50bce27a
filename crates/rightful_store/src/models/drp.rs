//! The Data Rights Protocol's state: agents' pair-wise tokens, signed messages already seen, and
//! the requests agents sent with how their status was last pushed.

use crate::schema::{drp_agents as a, drp_messages as m, drp_requests as r};
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A request received over DRP.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = r)]
pub struct DrpRequest {
    /// The DRP `request_id`.
    pub id: String,
    /// The agent managing it.
    pub agent_id: String,
    /// The request opened in the queue, if any.
    pub request_id: Option<String>,
    /// The agent's own id for it.
    pub agent_request_id: Option<String>,
    /// The exercise.
    pub exercise: String,
    /// The regime named.
    pub regime: Option<String>,
    /// Where status changes are pushed.
    pub status_callback: Option<String>,
    /// The signed message as received (base64), kept as proof of the agent's authority.
    pub signed: String,
    /// When it arrived.
    pub received_at: NaiveDateTime,
    /// The DRP reason of a denial at once.
    pub denied_reason: Option<String>,
    /// Words for the agent.
    pub processing_details: Option<String>,
    /// The last status pushed.
    pub pushed: Option<String>,
    /// Failed pushes of the current status.
    pub push_attempts: i32,
    /// When the next push may be tried.
    pub next_push_at: Option<NaiveDateTime>,
    /// Last change.
    pub updated_at: NaiveDateTime,
}

/// Gives `agent_id` the token whose hash is `token_hash`, replacing an earlier one.
pub fn pair(
    conn: &mut DbConn,
    agent_id: &str,
    token_hash: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    conn.transaction(|c| {
        diesel::delete(a::table.find(agent_id)).execute(c)?;
        diesel::insert_into(a::table)
            .values((
                a::agent_id.eq(agent_id),
                a::token_hash.eq(token_hash),
                a::created_at.eq(at),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// The agent a token was issued to.
pub fn agent_of(conn: &mut DbConn, token_hash: &str) -> Result<Option<String>, StoreError> {
    Ok(a::table
        .filter(a::token_hash.eq(token_hash))
        .select(a::agent_id)
        .first(conn)
        .optional()?)
}

/// Whether a signed message was accepted already (and has not expired from the record).
pub fn seen(conn: &mut DbConn, hash: &str, now: NaiveDateTime) -> Result<bool, StoreError> {
    Ok(m::table
        .find(hash)
        .filter(m::expires_at.ge(now))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Records a signed message as seen until it expires; `false` when it was seen already (a
/// replay). Expired records are dropped on the way.
pub fn remember(
    conn: &mut DbConn,
    hash: &str,
    agent_id: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    diesel::delete(m::table.filter(m::expires_at.lt(now))).execute(conn)?;
    let row = (
        m::hash.eq(hash),
        m::agent_id.eq(agent_id),
        m::expires_at.eq(expires_at),
    );
    let n = match conn {
        DbConn::Pg(c) => diesel::insert_into(m::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(m::table)
            .values(row)
            .execute(c)?,
    };
    Ok(n == 1)
}

/// Stores a new DRP request.
pub fn insert(conn: &mut DbConn, req: &DrpRequest) -> Result<(), StoreError> {
    diesel::insert_into(r::table).values(req).execute(conn)?;
    Ok(())
}

/// A DRP request by its id.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<DrpRequest>, StoreError> {
    Ok(r::table
        .find(id)
        .select(DrpRequest::as_select())
        .first(conn)
        .optional()?)
}

/// The DRP request behind a request of the queue, if it came over DRP.
pub fn for_request(conn: &mut DbConn, request_id: &str) -> Result<Option<DrpRequest>, StoreError> {
    Ok(r::table
        .filter(r::request_id.eq(request_id))
        .select(DrpRequest::as_select())
        .first(conn)
        .optional()?)
}

/// Requests with a callback whose next push is due.
pub fn due_pushes(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<DrpRequest>, StoreError> {
    Ok(r::table
        .filter(r::status_callback.is_not_null())
        .filter(r::next_push_at.is_null().or(r::next_push_at.le(now)))
        .order(r::received_at.asc())
        .select(DrpRequest::as_select())
        .load(conn)?)
}

/// Records how a push went: the status now pushed (or given up on), the failures of the
/// current one and when to look again.
pub fn set_pushed(
    conn: &mut DbConn,
    id: &str,
    pushed: Option<&str>,
    attempts: i32,
    next_push_at: Option<NaiveDateTime>,
) -> Result<(), StoreError> {
    diesel::update(r::table.find(id))
        .set((
            r::pushed.eq(pushed),
            r::push_attempts.eq(attempts),
            r::next_push_at.eq(next_push_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the words for the agent (a revocation's reason) and asks for a push.
pub fn set_details(
    conn: &mut DbConn,
    id: &str,
    details: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(r::table.find(id))
        .set((
            r::processing_details.eq(details),
            r::next_push_at.eq(None::<NaiveDateTime>),
            r::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
