//! Issue 14: the job loop never strands a request, and work starts when it is due. Real servers on
//! real ports, real engine databases (SQLite, PostgreSQL), faults injected in the database itself.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use rightful_engine::execution::{ENGINE_ERROR, Turn};
use rightful_store::models::job::{self, Holder, Job, LAST_ERROR_MAX};
use rightful_tests::TestApp;
use std::time::{Duration, Instant};

/// An engine with no site store (each approved request runs one `finalize` job), on SQLite or
/// PostgreSQL, with `adjust` applied.
fn app(postgres: bool, adjust: impl FnOnce(&mut rightful_engine::settings::Settings)) -> TestApp {
    TestApp::with(postgres, move |s| {
        // An empty stores directory inside the app's data directory (removed with the app).
        s.stores.dir = s.storage.data_dir.join("no-stores");
        std::fs::create_dir_all(&s.stores.dir).unwrap();
        adjust(s);
    })
    .unwrap()
}

/// `n` access requests waiting for the DPO's decision.
async fn awaiting_review(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let accepted = rightful_engine::intake::submit(
            &app.engine,
            rightful_tests::submission("access", &format!("subject{i}@example.test")),
            "web",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        app.to_review(&accepted.id);
        ids.push(accepted.id);
    }
    ids
}

async fn dpo_bearer(app: &TestApp, http: &reqwest::Client, base: &str) -> String {
    rightful_engine::auth::add_staff(
        &app.engine,
        "dpo1",
        rightful_engine::auth::Role::Dpo,
        "a long enough password",
    )
    .unwrap();
    let login: serde_json::Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&serde_json::json!({"username": "dpo1", "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("Bearer {}", login["access_token"].as_str().unwrap())
}

async fn approve(http: &reqwest::Client, base: &str, bearer: &str, id: &str) -> u16 {
    http.post(format!("{base}/v1/requests/{id}/decision"))
        .header("Authorization", bearer)
        .json(&serde_json::json!({"decision": "approve"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn status(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.engine
        .store
        .with_conn(move |c| rightful_store::models::request::find(c, &id))
        .unwrap()
        .unwrap()
        .status
}

fn jobs(app: &TestApp, id: &str) -> Vec<Job> {
    let id = id.to_owned();
    app.engine
        .store
        .with_conn(move |c| job::for_request(c, &id))
        .unwrap()
}

/// Issue 14: 200 access requests approved from 16 clients at once, 8 workers, engine on SQLite
/// (the `make run` default), over a real port: no approval answers 500 (`database is locked`),
/// every request completes within the bound, no job is left `running` or carries an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue14_200_approvals_from_16_clients_with_8_workers_on_sqlite_none_fails_none_stranded() {
    let app = app(false, |s| {
        s.execution.workers = 8;
        s.execution.poll_ms = 250;
    });
    let ids = awaiting_review(&app, 200).await;
    let base = app.spawn().unwrap();
    rightful_engine::execution::spawn_workers(&app.engine, "load");
    let http = reqwest::Client::new();
    let bearer = dpo_bearer(&app, &http, &base).await;
    let started = Instant::now();
    let clients: Vec<_> = ids
        .chunks(ids.len().div_ceil(16))
        .map(|chunk| {
            let (http, base, bearer, chunk) =
                (http.clone(), base.clone(), bearer.clone(), chunk.to_vec());
            tokio::spawn(async move {
                let mut codes = Vec::new();
                for id in chunk {
                    codes.push(approve(&http, &base, &bearer, &id).await);
                }
                codes
            })
        })
        .collect();
    assert_eq!(clients.len(), 16);
    let mut codes = Vec::new();
    for c in clients {
        codes.extend(c.await.unwrap());
    }
    assert_eq!(codes.len(), 200);
    assert!(
        codes.iter().all(|c| *c == 200),
        "approvals answered {codes:?}"
    );
    // Every request completes within the bound (far below the 300 s lease a stranded job waits).
    let bound = Duration::from_secs(120);
    loop {
        let left = ids
            .iter()
            .filter(|id| status(&app, id) != "completed")
            .count();
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < bound,
            "{left} requests not completed after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &ids {
        for j in jobs(&app, id) {
            assert_eq!(j.status, "done", "{} of {id}", j.step);
            assert_eq!(j.last_error, None);
            assert_eq!(j.attempts, 1, "each step ran once");
        }
    }
}

/// Issue 14: approval wakes an idle worker at once: with `poll_ms = 5000` the request completes
/// over a real port well before the next poll would have found it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_approval_wakes_a_worker_at_once_instead_of_waiting_for_the_poll() {
    let app = app(false, |s| {
        s.execution.workers = 1;
        s.execution.poll_ms = 5000;
    });
    let ids = awaiting_review(&app, 1).await;
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let bearer = dpo_bearer(&app, &http, &base).await;
    rightful_engine::execution::spawn_workers(&app.engine, "wake");
    // The worker has looked once, found nothing, and sleeps for 5 s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(approve(&http, &base, &bearer, &ids[0]).await, 200);
    while status(&app, &ids[0]) != "completed" {
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "approval to completion waited for the poll"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Approves request `id` in process.
async fn approve_in_process(app: &TestApp, id: &str) {
    rightful_engine::intake::decide(
        &app.engine,
        id,
        rightful_engine::intake::Decision::Approve,
        "dpo:test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

/// Issue 14: a step whose outcome cannot be recorded (the engine database refuses the write) ends
/// its job at once, retry scheduled and `last_error` recorded, instead of leaving it `running`
/// until its lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_an_engine_error_in_a_step_ends_its_job_with_last_error_at_once() {
    let app = app(false, |s| {
        s.execution.lease_secs = 300;
        s.execution.retry_secs = 60;
    });
    let ids = awaiting_review(&app, 1).await;
    approve_in_process(&app, &ids[0]).await;
    // The fault: the engine database refuses to mark any job done.
    app.engine
        .store
        .with_conn(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(
                "CREATE TRIGGER refuse_done BEFORE UPDATE ON execution_jobs WHEN NEW.status = 'done' \
                 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
            )?;
            Ok(())
        })
        .unwrap();
    let before = chrono::Utc::now().naive_utc();
    let turn = rightful_engine::execution::run_once(&app.engine, "w").await;
    assert!(turn.is_err(), "the engine error is reported: {turn:?}");
    let j = jobs(&app, &ids[0]).pop().unwrap();
    assert_eq!(j.status, "pending", "not left running for the lease");
    assert_eq!(j.last_error.as_deref(), Some(ENGINE_ERROR));
    assert_eq!(j.lease_until, None);
    assert!(
        j.run_at >= before + chrono::Duration::seconds(59),
        "retry scheduled with backoff"
    );
    // (The request itself was completed by the step before its outcome was refused.)
    // Once the database accepts the write again, the retry completes the request.
    app.engine
        .store
        .with_conn(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(
                "DROP TRIGGER refuse_done; UPDATE execution_jobs SET run_at = '2000-01-01 00:00:00';",
            )?;
            Ok(())
        })
        .unwrap();
    assert!(matches!(
        rightful_engine::execution::run_once(&app.engine, "w")
            .await
            .unwrap(),
        Turn::Ran(_, _, _, "done")
    ));
    assert_eq!(status(&app, &ids[0]), "completed");
}

/// Issue 14: on PostgreSQL a failure message longer than 500 characters (the old VARCHAR(500))
/// is recorded, cut to its bound on a character boundary, and the job leaves `running`; the
/// column is TEXT after migration 2026-12-01-000008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_a_long_last_error_is_recorded_on_postgres_and_the_job_ends() {
    let app = app(true, |_| {});
    assert_eq!(
        app.engine.store.backend(),
        rightful_store::Backend::Postgres
    );
    let ids = awaiting_review(&app, 2).await;
    for id in &ids {
        approve_in_process(&app, id).await;
    }
    let long = "é".repeat(3000);
    for (n, fail) in [(0, false), (1, true)] {
        let now = chrono::Utc::now().naive_utc();
        let j = app
            .engine
            .store
            .with_conn(move |c| job::claim(c, "w", now, now + chrono::Duration::seconds(300)))
            .unwrap()
            .unwrap();
        let (id, long) = (j.id.clone(), long.clone());
        let held = app
            .engine
            .store
            .with_conn(move |c| {
                let holder = Holder {
                    worker: "w",
                    attempt: 1,
                };
                if fail {
                    job::fail(c, &id, holder, &long, now)
                } else {
                    job::retry(c, &id, holder, &long, now + chrono::Duration::hours(1), now)
                }
            })
            .unwrap();
        assert!(held, "job {n}");
        let after = jobs(&app, &j.request_id).pop().unwrap();
        assert_eq!(after.status, if fail { "failed" } else { "pending" });
        let recorded = after.last_error.unwrap();
        assert_eq!(recorded.chars().count(), LAST_ERROR_MAX);
        assert!(recorded.chars().all(|c| c == 'é'));
    }
    let kind: String = app
        .engine
        .store
        .with_conn(|c| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Kind {
                #[diesel(sql_type = diesel::sql_types::Text)]
                data_type: String,
            }
            #[expect(clippy::disallowed_methods, reason = "fixed catalogue query, no input")]
            let k: Kind = diesel::sql_query(
                "SELECT data_type::text AS data_type FROM information_schema.columns \
                 WHERE table_name = 'execution_jobs' AND column_name = 'last_error'",
            )
            .get_result(c)?;
            Ok(k.data_type)
        })
        .unwrap();
    assert_eq!(kind, "text");
}

/// Issue 14: a worker whose lease ran out while its step ran (another worker, or itself in a
/// later claim, took the job over) writes nothing: not done, not retry, not failed, no renewal;
/// the holder of the current claim still can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_a_worker_that_lost_its_lease_mid_step_writes_nothing() {
    for postgres in [false, true] {
        let app = app(postgres, |_| {});
        let ids = awaiting_review(&app, 1).await;
        approve_in_process(&app, &ids[0]).await;
        let now = chrono::Utc::now().naive_utc();
        let claim = |worker: &'static str, until: chrono::NaiveDateTime| {
            app.engine
                .store
                .with_conn(move |c| job::claim(c, worker, now, until))
                .unwrap()
                .unwrap()
        };
        // `a` claims with a lease already over (its step ran too long), `b` takes the job over,
        // then `a` itself claims it again when b's lease is over too.
        let first = claim("a", now - chrono::Duration::seconds(1));
        let second = claim("b", now - chrono::Duration::seconds(1));
        let third = claim("a", now + chrono::Duration::seconds(300));
        assert_eq!((first.attempts, second.attempts, third.attempts), (1, 2, 3));
        let id = first.id.clone();
        let stale = [
            Holder {
                worker: "a",
                attempt: 1,
            },
            Holder {
                worker: "b",
                attempt: 2,
            },
        ];
        for holder in stale {
            let id = id.clone();
            let wrote = app
                .engine
                .store
                .with_conn(move |c| {
                    let later = now + chrono::Duration::seconds(600);
                    Ok([
                        job::renew(c, &id, holder, later)?,
                        job::finish(c, &id, holder, "{}", now)?,
                        job::retry(c, &id, holder, "stale", now, now)?,
                        job::fail(c, &id, holder, "stale", now)?,
                    ])
                })
                .unwrap();
            assert_eq!(wrote, [false; 4], "{holder:?}");
        }
        let j = jobs(&app, &ids[0]).pop().unwrap();
        assert_eq!(j.status, "running");
        assert_eq!(j.last_error, None);
        assert_eq!(j.lease_until, third.lease_until);
        let current = Holder {
            worker: "a",
            attempt: 3,
        };
        assert!(
            app.engine
                .store
                .with_conn(move |c| job::finish(c, &id, current, "{}", now))
                .unwrap()
        );
    }
}

/// Issue 14: a step that runs longer than its lease keeps it (heartbeat): the shop's discovery is
/// held up by a lock on its table for three lease periods, and meanwhile its job stays with its
/// worker under a lease in the future; it then completes on its first attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_a_step_longer_than_its_lease_keeps_it_by_heartbeat() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let Some(site) = rightful_tests::DemoSite::new(10) else {
        panic!("PostgreSQL and MariaDB URLs are required (CI sets them)");
    };
    let urls = site.urls.clone();
    let app = TestApp::with(false, move |s| {
        s.stores.urls = urls;
        s.execution.lease_secs = 1;
    })
    .unwrap();
    let ids = awaiting_review(&app, 1).await;
    approve_in_process(&app, &ids[0]).await;
    // The fault: the shop's table is locked, so its discovery waits.
    let mut locker = diesel::PgConnection::establish(&site.urls["shop"]).unwrap();
    locker
        .batch_execute("BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let engine = app.engine.clone();
    let worker = tokio::spawn(async move { rightful_engine::execution::drain(&engine, "a").await });
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let shop = |app: &TestApp| {
        jobs(app, &ids[0])
            .into_iter()
            .find(|j| j.step == "discover" && j.store == "shop" && j.round == 1)
            .unwrap()
    };
    let held = shop(&app);
    assert_eq!(held.status, "running");
    assert_eq!(held.worker.as_deref(), Some("a"));
    assert!(
        held.lease_until.unwrap() > chrono::Utc::now().naive_utc(),
        "the lease was renewed while the step ran"
    );
    locker.batch_execute("ROLLBACK;").unwrap();
    worker.await.unwrap().unwrap();
    let done = shop(&app);
    assert_eq!(done.status, "done");
    assert_eq!(done.attempts, 1, "no second worker took it over");
}

/// Issue 14: across servers on PostgreSQL, an approval on one server wakes the idle workers of
/// another (`LISTEN/NOTIFY`): with `poll_ms = 5000`, the other server completes the request well
/// before its next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue14_an_approval_on_one_server_wakes_the_workers_of_another_on_postgres() {
    let app = app(true, |s| {
        s.execution.workers = 1;
        s.execution.poll_ms = 5000;
    });
    assert_eq!(
        app.engine.store.backend(),
        rightful_store::Backend::Postgres
    );
    // A second server: its own engine on the same database; only it runs workers.
    let other = rightful_engine::Engine::open((*app.engine.settings).clone()).unwrap();
    let ids = awaiting_review(&app, 1).await;
    rightful_engine::execution::spawn_workers(&other, "other");
    // Its worker has looked once, found nothing, and sleeps for 5 s.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    approve_in_process(&app, &ids[0]).await;
    while status(&app, &ids[0]) != "completed" {
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "the other server waited for its poll"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
