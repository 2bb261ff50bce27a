//! A real `rightful serve` process is killed (SIGKILL) while it carries out a batch of erasures
//! on the demo site, then started again: every request completes, every step is journalled done
//! exactly once, and the final search of every store found nothing that should be gone.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use rightful_connectors::sql::Dialect;
use rightful_connectors::testing::TestSite;
use rightful_core::lifecycle::Status;
use rightful_engine::Engine;
use rightful_engine::settings::Settings;
use rightful_store::models::{audit, job, request};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn serve(config: &Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
        cmd.env_remove(k);
    }
    cmd.spawn().expect("start rightful serve")
}

/// `(jobs done, jobs in all, requests completed)`.
fn progress(store: &rightful_store::Store, ids: &[String]) -> (usize, usize, usize) {
    let ids = ids.to_vec();
    store
        .with_conn(move |c| {
            let (mut done, mut all, mut completed) = (0, 0, 0);
            for id in &ids {
                let jobs = job::for_request(c, id)?;
                all += jobs.len();
                done += jobs.iter().filter(|j| j.status == "done").count();
                if request::find(c, id)?.is_some_and(|r| r.status == "completed") {
                    completed += 1;
                }
            }
            Ok((done, all, completed))
        })
        .unwrap()
}

#[test]
fn a_server_killed_while_erasing_resumes_after_a_restart_and_no_step_runs_twice() {
    let tmp = tempfile::tempdir().unwrap();
    // The demo site, on SQLite files (the process test needs no server).
    let mut urls = String::new();
    let mut sites = Vec::new();
    let mut settings = Settings::default();
    settings.policy.dir = root().join("config/policy");
    settings.stores.dir = root().join("config/stores");
    let policy = rightful_engine::policy::load_dir(&settings.policy.dir)
        .unwrap()
        .policy;
    for mut store in rightful_engine::stores::load(&settings, &policy).unwrap() {
        let site = TestSite::new(Dialect::Sqlite, "SELECT 1").unwrap().unwrap();
        store.url = site.url.clone();
        let opts = rightful_engine::demo::SeedOptions {
            scale: 200,
            logs_per_subject: 2,
            chunk: 1000,
            reset: false,
            if_missing: false,
        };
        rightful_engine::demo::seed_store(&store, &root().join("demo"), &opts, &mut |_, _| {})
            .unwrap();
        urls.push_str(&format!("{} = \"{}\"\n", store.map.name, site.url));
        sites.push(site);
    }
    let config = tmp.path().join("rightful.toml");
    let r = root();
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{data}\"\n[policy]\ndir = \"{r}/config/policy\"\n[stores]\ndir = \"{r}/config/stores\"\nprocessors_dir = \"{r}/config/processors\"\ndemo_dir = \"{r}/demo\"\n[stores.urls]\n{urls}[mail]\ntemplates_dir = \"{r}/config/templates\"\n[identity]\nagents_dir = \"{r}/config/agents\"\n[schedule]\nreminders = \"\"\n[execution]\nworkers = 2\npoll_ms = 20\nlease_secs = 2\n",
            data = tmp.path().join("data").display(),
            r = r.display(),
        ),
    )
    .unwrap();
    // Twenty-four approved erasures, queued before the server starts.
    let engine = Engine::open(Settings::load(Some(&config)).unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for n in 1..=24 {
        let s = rightful_engine::intake::Submission {
            kind: Some("erasure".into()),
            text: None,
            email: format!("user{n}@example.test"),
            last_name: Some("Example".into()),
            first_name: Some("Sam".into()),
            postal_address: None,
            language: None,
            details: serde_json::Value::Null,
            id_token: None,
        };
        let a = rt
            .block_on(rightful_engine::intake::submit(
                &engine,
                s,
                "web",
                chrono::Utc::now(),
            ))
            .unwrap();
        let id = a.id.clone();
        engine
            .store
            .with_conn(move |c| {
                request::transition(
                    c,
                    &id,
                    Status::AwaitingReview,
                    "system",
                    "test",
                    chrono::Utc::now().naive_utc(),
                )
            })
            .unwrap()
            .unwrap();
        rt.block_on(rightful_engine::intake::decide(
            &engine,
            &a.id,
            rightful_engine::intake::Decision::Approve,
            "dpo:test",
            chrono::Utc::now(),
        ))
        .unwrap();
        ids.push(a.id);
    }
    let store = engine.store.clone();
    drop(engine);
    // The server starts working through them and is killed on the way.
    let mut first = serve(&config);
    let started = Instant::now();
    loop {
        let (done, _, _) = progress(&store, &ids);
        if done >= 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did no work"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let (done, all, completed) = progress(&store, &ids);
    assert!(
        completed < ids.len() && done < all.max(ids.len() * 4),
        "killed in the middle: {done} of {all} steps done, {completed} requests completed"
    );
    // Started again, it finishes everything: every request completed and every step journalled
    // (a request is completed inside its finalize step, a moment before that step is recorded).
    let mut second = serve(&config);
    let started = Instant::now();
    while {
        let (done, all, completed) = progress(&store, &ids);
        completed < ids.len() || done < all
    } {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not finished: {:?}",
            progress(&store, &ids)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    second.kill().unwrap();
    second.wait().unwrap();
    // Every step done exactly once.
    let ids2 = ids.clone();
    let (entries, jobs) = store
        .with_conn(move |c| {
            let entries = audit::between(c, None, None)?;
            let mut jobs = Vec::new();
            for id in &ids2 {
                jobs.extend(job::for_request(c, id)?);
            }
            Ok((entries, jobs))
        })
        .unwrap();
    let done: Vec<(String, String, String, i64)> = entries
        .iter()
        .filter(|e| {
            e.content.action.starts_with("execution.") && e.content.action.ends_with("_done")
        })
        .map(|e| {
            (
                e.content.target.clone(),
                e.content.action.clone(),
                e.content.details["store"].as_str().unwrap_or("").to_owned(),
                e.content.details["round"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let unique: BTreeSet<_> = done.iter().collect();
    assert_eq!(done.len(), unique.len(), "a step was journalled done twice");
    let journalled: BTreeSet<(String, String, String, i64)> = jobs
        .iter()
        .map(|j| {
            (
                j.request_id.clone(),
                format!("execution.{}_done", j.step),
                j.store.clone(),
                i64::from(j.round),
            )
        })
        .collect();
    let audited: BTreeSet<(String, String, String, i64)> = done.iter().cloned().collect();
    assert_eq!(
        audited,
        journalled,
        "every job done has its audit entry: missing {:?}, extra {:?}",
        journalled.difference(&audited).collect::<Vec<_>>(),
        audited.difference(&journalled).collect::<Vec<_>>()
    );
    assert!(jobs.iter().all(|j| j.status == "done"));
    // Issue 14: "two completion mails after a kill during `finalize`". Every request's
    // completion notice went out exactly once: one message in the outbox with its deterministic
    // Message-ID, and its outbox row sent (the address gone).
    let outbox = tmp.path().join("data/outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    for id in &ids {
        let needle = format!("<rightful.{id}.completed@");
        let n = mails.iter().filter(|m| m.contains(&needle)).count();
        assert_eq!(n, 1, "request {id}: {n} completion mails");
    }
    let ids2 = ids.clone();
    let rows = store
        .with_conn(move |c| {
            let mut rows = Vec::new();
            for id in &ids2 {
                rows.extend(rightful_store::models::outbox::for_request(c, id)?);
            }
            Ok(rows)
        })
        .unwrap();
    assert_eq!(rows.len(), ids.len());
    assert!(
        rows.iter()
            .all(|r| r.status == "sent" && r.recipient.is_empty())
    );
    drop(sites);
}
