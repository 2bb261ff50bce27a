//! The execution journal: per request an `executions` row (identities searched, plan, outcome)
//! and its jobs, each claimed by one worker under a lease. On PostgreSQL the claim skips rows
//! other workers hold (`FOR UPDATE SKIP LOCKED`); on SQLite the claim is an immediate (writing)
//! transaction, one writer at a time. A job whose lease ran out (its worker crashed) is claimed
//! again; a worker that lost its lease cannot mark the job done.

use crate::schema::{execution_jobs as j, executions as e};
use crate::{DbConn, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = j)]
pub struct Job {
    /// UUID.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// discover, apply, notify or finalize.
    pub step: String,
    /// The store, or `-`.
    pub store: String,
    /// Discovery round.
    pub round: i32,
    /// pending, running, done or failed.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Not before.
    pub run_at: NaiveDateTime,
    /// Lease end while running.
    pub lease_until: Option<NaiveDateTime>,
    /// The worker holding it.
    pub worker: Option<String>,
    /// JSON result.
    pub result: Option<String>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

impl Job {
    /// A pending job.
    pub fn new(request_id: &str, step: &str, store: &str, round: i32, at: NaiveDateTime) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            request_id: request_id.to_owned(),
            step: step.to_owned(),
            store: store.to_owned(),
            round,
            status: "pending".into(),
            attempts: 0,
            run_at: at,
            lease_until: None,
            worker: None,
            result: None,
            last_error: None,
            created_at: at,
            updated_at: at,
        }
    }
}

/// The execution of a request.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = e)]
pub struct Execution {
    /// The request.
    pub request_id: String,
    /// Discovery round.
    pub round: i32,
    /// JSON identities.
    pub identities: String,
    /// JSON plan.
    pub plan: Option<String>,
    /// JSON outcome.
    pub outcome: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Updated.
    pub updated_at: NaiveDateTime,
}

/// Starts the execution of a request with its first jobs; `false` if it had already started.
pub fn start(conn: &mut DbConn, ex: &Execution, jobs: &[Job]) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        if get(conn, &ex.request_id)?.is_some() {
            return Ok(false);
        }
        diesel::insert_into(e::table).values(ex).execute(conn)?;
        enqueue(conn, jobs)?;
        Ok(true)
    })
}

/// The execution of a request.
pub fn get(conn: &mut DbConn, request_id: &str) -> Result<Option<Execution>, StoreError> {
    Ok(e::table
        .find(request_id)
        .select(Execution::as_select())
        .first(conn)
        .optional()?)
}

/// Takes the execution row's lock for the rest of the transaction (serialises the workers that
/// finish the jobs of one request) and returns it.
pub fn lock(
    conn: &mut DbConn,
    request_id: &str,
    at: NaiveDateTime,
) -> Result<Option<Execution>, StoreError> {
    let n = diesel::update(e::table.find(request_id))
        .set(e::updated_at.eq(at))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, request_id)
}

/// Records a new discovery round with the identities found so far.
pub fn set_round(
    conn: &mut DbConn,
    request_id: &str,
    round: i32,
    identities: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(e::table.find(request_id))
        .set((
            e::round.eq(round),
            e::identities.eq(identities),
            e::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the plan.
pub fn set_plan(
    conn: &mut DbConn,
    request_id: &str,
    plan: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(e::table.find(request_id))
        .set((e::plan.eq(plan), e::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Records the outcome.
pub fn set_outcome(
    conn: &mut DbConn,
    request_id: &str,
    outcome: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(e::table.find(request_id))
        .set((e::outcome.eq(outcome), e::updated_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// The PostgreSQL channel on which new due jobs are announced to every server (issue 14).
pub const CHANNEL: &str = "rightful_jobs";

/// Adds jobs; a job already present (same request, step, store and round) is left alone, so
/// that two workers enqueueing the same next step create it once. On PostgreSQL, new jobs are
/// announced on [`CHANNEL`] (`NOTIFY`, delivered when the transaction commits).
pub fn enqueue(conn: &mut DbConn, jobs: &[Job]) -> Result<usize, StoreError> {
    let n = insert_jobs(conn, jobs)?;
    if n > 0
        && let DbConn::Pg(c) = conn
    {
        use diesel::connection::SimpleConnection;
        c.batch_execute(&format!("NOTIFY {CHANNEL}"))?;
    }
    Ok(n)
}

fn insert_jobs(conn: &mut DbConn, jobs: &[Job]) -> Result<usize, StoreError> {
    let mut n = 0;
    for job in jobs {
        n += match conn {
            DbConn::Pg(c) => diesel::insert_into(j::table)
                .values(job)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(j::table)
                .values(job)
                .execute(c)?,
        };
    }
    Ok(n)
}

/// Claims the next due job for `worker` until `lease_until`: a pending job whose time has come,
/// or a running one whose lease has passed.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> Result<Option<Job>, StoreError> {
    let due = j::status
        .eq("pending")
        .and(j::run_at.le(now))
        .or(j::status.eq("running").and(j::lease_until.lt(now)));
    let take = |id: &str| {
        diesel::update(j::table.find(id.to_owned())).set((
            j::status.eq("running"),
            j::worker.eq(worker.to_owned()),
            j::lease_until.eq(lease_until),
            j::attempts.eq(j::attempts + 1),
            j::updated_at.eq(now),
        ))
    };
    let id = match conn {
        DbConn::Pg(c) => c.transaction(|c| {
            let id: Option<String> = j::table
                .filter(due)
                .order(j::run_at.asc())
                .select(j::id)
                .for_update()
                .skip_locked()
                .first(c)
                .optional()?;
            if let Some(id) = &id {
                take(id).execute(c)?;
            }
            Ok::<_, diesel::result::Error>(id)
        })?,
        DbConn::Sqlite(c) => c.immediate_transaction(|c| {
            let id: Option<String> = j::table
                .filter(due)
                .order(j::run_at.asc())
                .select(j::id)
                .first(c)
                .optional()?;
            if let Some(id) = &id {
                take(id).execute(c)?;
            }
            Ok::<_, diesel::result::Error>(id)
        })?,
    };
    match id {
        Some(id) => Ok(j::table
            .find(id)
            .select(Job::as_select())
            .first(conn)
            .optional()?),
        None => Ok(None),
    }
}

/// The longest `last_error` kept, in characters (issue 14): longer messages are cut, on every
/// backend, so that recording a failure can never fail for its length.
pub const LAST_ERROR_MAX: usize = 500;

/// `error` cut to [`LAST_ERROR_MAX`] characters (on a character boundary).
pub fn clip_error(error: &str) -> String {
    match error.char_indices().nth(LAST_ERROR_MAX) {
        Some((i, _)) => error[..i].to_owned(),
        None => error.to_owned(),
    }
}

/// Who holds a claimed job: the worker's name and the claim's attempt number. A worker that
/// claims its own expired job again holds a new attempt, so the first run's writes are refused.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    /// The worker's name.
    pub worker: &'a str,
    /// `attempts` as the claim left it.
    pub attempt: i32,
}

type HeldBy<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Find<j::table, &'a str>,
            diesel::dsl::Eq<j::worker, &'a str>,
        >,
        diesel::dsl::Eq<j::status, &'static str>,
    >,
    diesel::dsl::Eq<j::attempts, i32>,
>;

/// The job `id` while `holder` still holds it (running, same claim): a worker that lost its
/// lease changes nothing, since the check is part of the statement that writes.
fn held_by<'a>(id: &'a str, holder: Holder<'a>) -> HeldBy<'a> {
    j::table
        .find(id)
        .filter(j::worker.eq(holder.worker))
        .filter(j::status.eq("running"))
        .filter(j::attempts.eq(holder.attempt))
}

/// Extends the lease of a job `holder` still holds to `lease_until` (the heartbeat of a long
/// step); `false` if the lease was lost.
pub fn renew(
    conn: &mut DbConn,
    id: &str,
    holder: Holder<'_>,
    lease_until: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(held_by(id, holder))
        .set(j::lease_until.eq(lease_until))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks a job done with its result, if `worker` still holds it; `false` if the lease was lost
/// (another worker took the job over and its outcome counts).
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    holder: Holder<'_>,
    result: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(held_by(id, holder))
        .set((
            j::status.eq("done"),
            j::result.eq(result),
            j::lease_until.eq(None::<NaiveDateTime>),
            j::last_error.eq(None::<String>),
            j::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Puts a job back to wait until `run_at` after a failure it may recover from.
pub fn retry(
    conn: &mut DbConn,
    id: &str,
    holder: Holder<'_>,
    error: &str,
    run_at: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(held_by(id, holder))
        .set((
            j::status.eq("pending"),
            j::run_at.eq(run_at),
            j::lease_until.eq(None::<NaiveDateTime>),
            j::last_error.eq(clip_error(error)),
            j::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Marks a job failed for good.
pub fn fail(
    conn: &mut DbConn,
    id: &str,
    holder: Holder<'_>,
    error: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let n = diesel::update(held_by(id, holder))
        .set((
            j::status.eq("failed"),
            j::lease_until.eq(None::<NaiveDateTime>),
            j::last_error.eq(clip_error(error)),
            j::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Every job of a request, oldest first.
pub fn for_request(conn: &mut DbConn, request_id: &str) -> Result<Vec<Job>, StoreError> {
    Ok(j::table
        .filter(j::request_id.eq(request_id))
        .order((j::created_at.asc(), j::step.asc(), j::store.asc()))
        .select(Job::as_select())
        .load(conn)?)
}

/// Jobs counted by status (`pending`, `running`, `done`, `failed`), for `/metrics` (issue 13
/// item 7).
pub fn count_by_status(conn: &mut DbConn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(j::table
        .group_by(j::status)
        .select((j::status, diesel::dsl::count_star()))
        .load(conn)?)
}
