//! Carrying out approved requests as durable jobs (SPEC §4).
//!
//! Approval starts an execution: the request's identities (its address) and one `discover` job
//! per store. Workers claim jobs from the engine's store under a lease (`FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, one writer on SQLite), so several servers share the queue and each step runs
//! once; a step whose worker died is taken over when its lease ends. Each finished job is
//! journalled with its result, and the worker that finishes one decides the next steps under the
//! execution row's lock:
//!
//! 1. `discover` per store, in rounds: identities found in one store (a customer id, an IP
//!    address) are searched for in every store in the next round, until nothing new appears;
//! 2. the core's plan over everything found ([`rightful_core::rights::plan`]);
//! 3. `apply` per store that holds the subject: export (access, portability), erase, rectify,
//!    restrict — each in one transaction on its store, safe to run again;
//! 4. `notify` the processors (Art. 19) after a rectification, erasure or restriction;
//! 5. `finalize`: after an erasure every store is searched again, and the request fails if
//!    anything that should be gone remains; the result (access report, portability files, signed
//!    erasure certificate) is written; the outcome, the request `completed` and the completion
//!    notice (an outbox row, mailed after the commit at most once — see [`crate::outbox`]) are
//!    written in one transaction.
//!
//! A store that cannot be reached pauses the request (`paused`); its step is retried with
//! backoff and the request resumes when the store is back.

mod aftercare;
mod cleanup;
mod results;
mod steps;

pub use aftercare::{assess_objection, lift_restriction};

pub use cleanup::{RESULT_DELETED, sweep as sweep_results};
pub use results::{Certificate, Download, download, result_chunk, result_path, stored_result};

use crate::{Engine, EngineError};
use chrono::{DateTime, Utc};
use diesel::Connection;
use rightful_connectors::Identities;
use rightful_core::audit::EntryContent;
use rightful_core::intake::RequestType;
use rightful_core::lifecycle::Status;
use rightful_store::models::job::{self, Execution, Job};
use rightful_store::models::{audit, request};
use std::collections::BTreeSet;

/// Discovery rounds at most (identities found feeding the next round).
pub const MAX_ROUNDS: i32 = 3;

/// The steps, in order.
pub const STEPS: [&str; 4] = ["discover", "apply", "notify", "finalize"];

/// Whether a request type changes data that processors hold (Art. 19).
fn notifies(kind: RequestType) -> bool {
    matches!(
        kind,
        RequestType::Erasure
            | RequestType::Rectification
            | RequestType::Restriction
            | RequestType::Objection
            | RequestType::WithdrawConsent
    )
}

/// The identities a request starts from: the requester's address, or the deceased's for a notice
/// of death.
fn initial_identities(email: &str, details: &serde_json::Value) -> Identities {
    let deceased = details
        .pointer("/deceased/email")
        .and_then(|e| e.as_str())
        .and_then(|e| rightful_core::intake::SubjectEmail::parse(e).ok())
        .map(|e| e.as_ref().to_owned());
    let mut ids = Identities::new();
    ids.insert(
        "email".into(),
        BTreeSet::from([deceased.unwrap_or_else(|| email.to_owned())]),
    );
    ids
}

/// Starts carrying out request `id` (approved): the execution row and a `discover` job per store,
/// or the `finalize` job at once when no store is configured. Starting twice does nothing.
pub(crate) fn start(
    c: &mut rightful_store::DbConn,
    engine_stores: &[String],
    id: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), rightful_store::StoreError> {
    let Some(subject) = request::subject(c, id)? else {
        return Ok(());
    };
    let details: serde_json::Value = serde_json::from_str(&subject.details).unwrap_or_default();
    let ids = initial_identities(&subject.email, &details);
    let mut jobs: Vec<Job> = engine_stores
        .iter()
        .map(|s| Job::new(id, "discover", s, 1, at))
        .collect();
    if jobs.is_empty() {
        jobs.push(Job::new(id, "finalize", "-", 0, at));
    }
    job::start(
        c,
        &Execution {
            request_id: id.to_owned(),
            round: 1,
            identities: serde_json::to_string(&ids).unwrap_or_default(),
            plan: None,
            outcome: None,
            created_at: at,
            updated_at: at,
        },
        &jobs,
    )?;
    Ok(())
}

/// What a worker did in one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// Nothing was due.
    Idle,
    /// A step ran: `(request, step, store, outcome)`.
    Ran(String, String, String, &'static str),
}

/// How a step ended.
pub(crate) enum StepEnd {
    /// Done, with its journalled result.
    Done(serde_json::Value),
    /// A store could not be reached, or a transient failure: retry later, the request pauses.
    Retry(String),
    /// A failure retrying cannot fix: the request fails, for the DPO.
    Fail(String),
}

/// What `last_error` (and the audit trail) says when the engine itself failed while running a
/// step: the error's text stays in the server log, since a driver's message may quote values.
pub const ENGINE_ERROR: &str = "internal engine error while running the step (see the server log)";

/// Claims one due job and runs it. Returns what it did.
///
/// Every claimed job ends here (issue 14): done, put back with `run_at` and `last_error`, or
/// failed — a step that panics and an engine error included. Only a worker that dies leaves its
/// job to the lease.
pub async fn run_once(engine: &Engine, worker: &str) -> Result<Turn, EngineError> {
    let now = Utc::now();
    let lease = now + chrono::Duration::seconds(engine.settings.execution.lease_secs);
    let w = worker.to_owned();
    let claimed = engine
        .store
        .run(move |c| job::claim(c, &w, now.naive_utc(), lease.naive_utc()))
        .await?;
    let Some(j) = claimed else {
        return Ok(Turn::Idle);
    };
    match carry_out(engine, &j, worker, now).await {
        Ok(label) => Ok(Turn::Ran(j.request_id, j.step, j.store, label)),
        Err(e) => {
            tracing::error!(request.id = %j.request_id, step = %j.step, store = %j.store, error = %e, "engine error while running a step");
            // The job ends now (retry scheduled, error recorded), not when its lease runs out.
            if let Err(again) =
                record(engine, &j, worker, StepEnd::Retry(ENGINE_ERROR.into())).await
            {
                tracing::error!(request.id = %j.request_id, step = %j.step, error = %again, "could not record the step's failure: its lease will return it");
            }
            Err(e)
        }
    }
}

/// Runs the claimed job `j`: the request in progress, the step (in its own task, so that a
/// panic is caught) under a heartbeat that renews the lease, then its outcome recorded.
async fn carry_out(
    engine: &Engine,
    j: &Job,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<&'static str, EngineError> {
    // The request is being carried out (or resumes after a pause).
    set_status(
        engine,
        &j.request_id,
        Status::InProgress,
        "execution started",
        now,
    )
    .await?;
    let started = std::time::Instant::now();
    let beat = heartbeat(engine, j, worker);
    let task = {
        let (engine, j) = (engine.clone(), j.clone());
        tokio::spawn(async move {
            match j.step.as_str() {
                "discover" => steps::discover(&engine, &j).await,
                "apply" => steps::apply(&engine, &j).await,
                "notify" => steps::notify(&engine, &j).await,
                "finalize" => results::finalize(&engine, &j).await,
                other => StepEnd::Fail(format!("unknown step `{other}`")),
            }
        })
    };
    let end = match task.await {
        Ok(end) => end,
        Err(e) => {
            tracing::error!(request.id = %j.request_id, step = %j.step, store = %j.store, panicked = e.is_panic(), "step ended abnormally");
            StepEnd::Retry(format!(
                "the {} step ended abnormally (see the server log)",
                j.step
            ))
        }
    };
    beat.abort();
    engine
        .metrics
        .observe_step(&j.step, started.elapsed().as_secs_f64());
    record(engine, j, worker, end).await
}

/// Renews the lease of `j` every third of `lease_secs` while its step runs, so that a step
/// longer than the lease is not given to a second worker. Stops when the lease was lost.
fn heartbeat(engine: &Engine, j: &Job, worker: &str) -> tokio::task::JoinHandle<()> {
    let (engine, id, worker, attempt) =
        (engine.clone(), j.id.clone(), worker.to_owned(), j.attempts);
    tokio::spawn(async move {
        let secs = engine.settings.execution.lease_secs.max(1);
        let every = std::time::Duration::from_millis(secs.unsigned_abs() * 1000 / 3);
        loop {
            tokio::time::sleep(every).await;
            let until = (Utc::now() + chrono::Duration::seconds(secs)).naive_utc();
            let (id2, w2) = (id.clone(), worker.clone());
            let renewed = engine
                .store
                .run(move |c| {
                    job::renew(
                        c,
                        &id2,
                        job::Holder {
                            worker: &w2,
                            attempt,
                        },
                        until,
                    )
                })
                .await;
            match renewed {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job.id = %id, worker = %worker, "lease lost: this run's outcome will not be recorded");
                    return;
                }
                Err(e) => tracing::warn!(job.id = %id, error = %e, "lease renewal failed"),
            }
        }
    })
}

/// Moves the request to `to` if the lifecycle allows it from where it is (a no-op otherwise).
async fn set_status(
    engine: &Engine,
    id: &str,
    to: Status,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let (id, why) = (id.to_owned(), why.to_owned());
    engine
        .store
        .run(move |c| {
            let Some(row) = request::find(c, &id)? else {
                return Ok(());
            };
            let from = row.status()?;
            if from == to || from.transition(to).is_err() {
                return Ok(());
            }
            c.transaction(|c| {
                if request::transition(c, &id, to, "system", &why, now.naive_utc())?.is_err() {
                    return Ok(()); // another worker moved it first
                }
                audit::append(
                    c,
                    vec![EntryContent {
                        at: now,
                        actor: "system".into(),
                        action: format!("request.{}", to.as_str()),
                        target: id.clone(),
                        reason: why.clone(),
                        details: serde_json::json!({}),
                    }],
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(())
}

/// Journals how the step ended and decides the next steps.
async fn record(
    engine: &Engine,
    j: &Job,
    worker: &str,
    end: StepEnd,
) -> Result<&'static str, EngineError> {
    let now = Utc::now();
    let at = now.naive_utc();
    let s = &engine.settings.execution;
    match end {
        StepEnd::Done(result) => {
            let (j2, w) = (j.clone(), worker.to_owned());
            let stores: Vec<steps::StoreKinds> = engine
                .stores
                .iter()
                .map(|s| {
                    (
                        s.map.name.clone(),
                        s.map
                            .tables
                            .iter()
                            .flat_map(|t| t.identities().map(|(_, k)| k.to_owned()))
                            .collect(),
                    )
                })
                .collect();
            let policy = engine.policy.clone();
            engine
                .store
                .run(move |c| {
                    c.transaction(|c| {
                        // The execution row's lock serialises the workers finishing one request.
                        let Some(ex) = job::lock(c, &j2.request_id, at)? else {
                            return Ok(());
                        };
                        let holder = job::Holder { worker: &w, attempt: j2.attempts };
                        if !job::finish(c, &j2.id, holder, &result.to_string(), at)? {
                            return Ok(()); // the lease was lost: the other worker's outcome counts
                        }
                        audit::append(
                            c,
                            vec![EntryContent {
                                at: now,
                                actor: format!("worker:{w}"),
                                action: format!("execution.{}_done", j2.step),
                                target: j2.request_id.clone(),
                                reason: String::new(),
                                details: serde_json::json!({"store": j2.store, "round": j2.round, "attempt": j2.attempts}),
                            }],
                        )?;
                        steps::advance(c, &policy, &stores, &ex, at)
                    })
                })
                .await?;
            // The next steps are due: idle workers start them now.
            engine.wake.notify_waiters();
            Ok("done")
        }
        StepEnd::Retry(why) if j.attempts < s.max_attempts => {
            let wait = (s.retry_secs << (j.attempts - 1).clamp(0, 10)).min(3600);
            let run_at = (now + chrono::Duration::seconds(wait)).naive_utc();
            let (id, w, why2, attempt) = (j.id.clone(), worker.to_owned(), why.clone(), j.attempts);
            let held = engine
                .store
                .run(move |c| {
                    let holder = job::Holder {
                        worker: &w,
                        attempt,
                    };
                    job::retry(c, &id, holder, &why2, run_at, at)
                })
                .await?;
            if !held {
                return Ok("lost"); // another worker holds the job now: its outcome counts
            }
            tracing::warn!(request.id = %j.request_id, step = %j.step, store = %j.store, attempt = j.attempts, retry_in_secs = wait, error = %why, "step will be retried");
            set_status(engine, &j.request_id, Status::Paused, &why, now).await?;
            Ok("retry")
        }
        StepEnd::Retry(why) | StepEnd::Fail(why) => {
            let (j2, w, why2) = (j.clone(), worker.to_owned(), why.clone());
            let held = engine
                .store
                .run(move |c| {
                    c.transaction(|c| {
                        let holder = job::Holder { worker: &w, attempt: j2.attempts };
                        if !job::fail(c, &j2.id, holder, &why2, at)? {
                            return Ok(false); // the lease was lost: nothing more is written
                        }
                        audit::append(
                            c,
                            vec![EntryContent {
                                at: now,
                                actor: format!("worker:{w}"),
                                action: "execution.step_failed".into(),
                                target: j2.request_id.clone(),
                                reason: why2.clone(),
                                details: serde_json::json!({"step": j2.step, "store": j2.store, "attempts": j2.attempts}),
                            }],
                        )?;
                        Ok(true)
                    })
                })
                .await?;
            if !held {
                return Ok("lost");
            }
            tracing::error!(request.id = %j.request_id, step = %j.step, store = %j.store, error = %why, "step failed");
            set_status(engine, &j.request_id, Status::Failed, &why, now).await?;
            Ok("failed")
        }
    }
}

/// On PostgreSQL, listens on [`job::CHANNEL`] on a connection of its own (a thread) and wakes
/// this server's idle workers when any server enqueues jobs (issue 14). Reconnects after a
/// failure; the poll covers the gap.
fn listen(engine: &Engine) {
    let url = engine.settings.storage.database_url.clone();
    if rightful_store::Backend::of(&url) != rightful_store::Backend::Postgres {
        return;
    }
    let wake = engine.wake.clone();
    let spawned = std::thread::Builder::new()
        .name("rightful-listen".into())
        .spawn(move || {
            use diesel::connection::SimpleConnection;
            loop {
                let listening = diesel::PgConnection::establish(&url)
                    .map_err(|e| e.to_string())
                    .and_then(|mut c| {
                        c.batch_execute(&format!("LISTEN {}", job::CHANNEL))
                            .map_err(|e| e.to_string())?;
                        Ok(c)
                    });
                let mut c = match listening {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for new jobs; the poll remains");
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        continue;
                    }
                };
                'read: loop {
                    let mut woken = false;
                    for n in c.notifications_iter() {
                        match n {
                            Ok(_) => woken = true,
                            Err(e) => {
                                tracing::warn!(error = %e, "listening for new jobs failed; reconnecting");
                                break 'read;
                            }
                        }
                    }
                    if woken {
                        wake.notify_waiters();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the job listener; the poll remains");
    }
}

/// Runs `workers` workers until the process ends: each claims due jobs; an idle one waits until
/// [`Engine::wake`] is notified (an approval, a finished step) or `poll_ms` passes (the fallback:
/// a retry whose time came, work enqueued by another process).
pub fn spawn_workers(engine: &Engine, prefix: &str) {
    if engine.settings.execution.workers > 0 {
        listen(engine);
    }
    for n in 0..engine.settings.execution.workers {
        let engine = engine.clone();
        let name = format!("{prefix}-{n}");
        tokio::spawn(async move {
            let idle = std::time::Duration::from_millis(engine.settings.execution.poll_ms);
            loop {
                // Registered before looking for work, so that a wake-up sent while this worker
                // is busy or finding nothing is not missed.
                let woken = engine.wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                match run_once(&engine, &name).await {
                    Ok(Turn::Ran(..)) => continue,
                    Ok(Turn::Idle) => {
                        // Issue 14: notices left due (a failed send, a crash after the commit)
                        // are sent when there is no step to run.
                        if let Err(e) = crate::outbox::deliver_due(&engine, None).await {
                            tracing::warn!(worker = %name, error = %e, "outbox not delivered");
                        }
                    }
                    Err(e) => {
                        tracing::error!(worker = %name, error = %e, "execution worker error");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(idle) => {}
                    () = &mut woken => {}
                }
            }
        });
    }
}

/// Runs due jobs until none is left (tests and `rightful requests run`); returns how many ran.
pub async fn drain(engine: &Engine, worker: &str) -> Result<usize, EngineError> {
    let mut n = 0;
    while let Turn::Ran(..) = run_once(engine, worker).await? {
        n += 1;
    }
    Ok(n)
}

/// The journal of a request, for the DPO.
pub async fn journal(engine: &Engine, id: &str) -> Result<Vec<serde_json::Value>, EngineError> {
    let id = id.to_owned();
    let jobs = engine.store.run(move |c| job::for_request(c, &id)).await?;
    Ok(jobs
        .into_iter()
        .map(|j| {
            serde_json::json!({"step": j.step, "store": j.store, "round": j.round, "status": j.status,
                "attempts": j.attempts, "last_error": j.last_error, "updated_at": j.updated_at})
        })
        .collect())
}
