//! Issue 13 item 6: several servers on one PostgreSQL engine database are one service, with
//! nothing else shared. Two real `rightful serve` processes, each with its own data directory,
//! share a throwaway PostgreSQL database (`RIGHTFUL_TEST_PG_URL`); the demo site is on SQLite
//! files. A request's result is downloaded from both servers' ports whichever finished it, also
//! when its export ran on a third server whose files neither can read; then one server is
//! killed in the middle of a batch and the other finishes every request.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use rightful_connectors::sql::Dialect;
use rightful_connectors::testing::TestSite;
use rightful_core::lifecycle::Status;
use rightful_engine::Engine;
use rightful_engine::execution::Turn;
use rightful_engine::settings::Settings;
use rightful_store::models::{job, request};
use sha2::Digest;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The keys every server of one installation shares (given, as in production, through the
/// environment; nothing read from another server's disk).
const KEYS: [(&str, &str, &str); 3] = [
    (
        "RIGHTFUL_JWT_SECRET",
        "jwt.key",
        "servers-test-jwt-secret-0123456789abcdef",
    ),
    (
        "RIGHTFUL_SIGNING_KEY",
        "signing.key",
        "servers-test-signing-key-0123456789abcdef",
    ),
    (
        "RIGHTFUL_HASH_KEY",
        "hash.key",
        "servers-test-hash-key-0123456789abcdef",
    ),
];

/// A running `rightful serve` and its HTTP address.
struct Server {
    child: Child,
    addr: String,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(config: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
            cmd.env_remove(k);
        }
        for (k, _, v) in KEYS {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start rightful serve");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "the server stopped before listening"
            );
            if let Some(a) = line.trim().strip_prefix("Rightful is listening on ") {
                break a.to_owned();
            }
        };
        Self {
            child,
            addr,
            _stdout: out,
        }
    }

    /// The worker-name prefix of this process's jobs (`<host>-<pid>-<n>`).
    fn pid(&self) -> String {
        format!("-{}-", self.child.id())
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, name: &str, database_url: &str, urls: &str) -> PathBuf {
    let config = dir.join(format!("{name}.toml"));
    let r = root();
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{data}\"\ndatabase_url = \"{database_url}\"\n[policy]\ndir = \"{r}/config/policy\"\n[stores]\ndir = \"{r}/config/stores\"\nprocessors_dir = \"{r}/config/processors\"\ndemo_dir = \"{r}/demo\"\n[stores.urls]\n{urls}[mail]\ntemplates_dir = \"{r}/config/templates\"\n[identity]\nagents_dir = \"{r}/config/agents\"\n[schedule]\nreminders = \"\"\n[execution]\nworkers = 2\npoll_ms = 20\nlease_secs = 2\n",
            data = dir.join(name).display(),
            r = r.display(),
        ),
    )
    .unwrap();
    config
}

/// Submits an access request for `email`, verified and approved; `(id, token)`.
fn approved_access(rt: &tokio::runtime::Runtime, engine: &Engine, email: &str) -> (String, String) {
    let s = rightful_engine::intake::Submission {
        kind: Some("access".into()),
        text: None,
        email: email.to_owned(),
        last_name: Some("Example".into()),
        first_name: Some("Sam".into()),
        postal_address: None,
        language: None,
        details: serde_json::Value::Null,
        id_token: None,
    };
    let a = rt
        .block_on(rightful_engine::intake::submit(
            engine,
            s,
            "web",
            chrono::Utc::now(),
        ))
        .unwrap();
    let id = a.id.clone();
    engine
        .store
        .with_conn(move |c| {
            let now = chrono::Utc::now().naive_utc();
            request::set_verified(c, &id, Some(now))?;
            request::transition(c, &id, Status::AwaitingReview, "system", "test", now)
        })
        .unwrap()
        .unwrap();
    rt.block_on(rightful_engine::intake::decide(
        engine,
        &a.id,
        rightful_engine::intake::Decision::Approve,
        "dpo:test",
        chrono::Utc::now(),
    ))
    .unwrap();
    (a.id, a.token)
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

fn wait_all_done(store: &rightful_store::Store, ids: &[String], secs: u64) {
    let started = Instant::now();
    while {
        let (done, all, completed) = progress(store, ids);
        completed < ids.len() || done < all
    } {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "not finished: {:?}",
            progress(store, ids)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET /v1/requests/{id}/result` on `addr`: the status and the body.
fn download(rt: &tokio::runtime::Runtime, addr: &str, id: &str, token: &str) -> (u16, Vec<u8>) {
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{addr}/v1/requests/{id}/result"))
            .header("Authorization", format!("Request {token}"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.bytes().await.unwrap().to_vec())
    })
}

/// The result as downloaded is the ZIP stored for the request (its SHA-256), and holds the
/// access report of that request.
fn check_zip(engine: &Engine, rt: &tokio::runtime::Runtime, id: &str, body: &[u8]) {
    let stored = rt
        .block_on(rightful_engine::execution::stored_result(engine, id))
        .unwrap()
        .expect("the result is in the engine's database");
    assert_eq!(
        i64::try_from(body.len()).unwrap(),
        stored.size,
        "the whole ZIP"
    );
    assert_eq!(
        format!("{:x}", sha2::Sha256::digest(body)),
        stored.sha256,
        "the stored ZIP, byte for byte"
    );
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(body.to_vec())).unwrap();
    let mut report = String::new();
    z.by_name("report.json")
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["request_id"], id);
}

// Issue 13 item 6: two servers, one PostgreSQL, nothing else shared.
#[test]
fn issue13_item6_two_servers_on_one_postgresql_serve_every_result_and_finish_each_others_work() {
    let Some(db) = rightful_store::testing::TestDb::postgres() else {
        eprintln!("RIGHTFUL_TEST_PG_URL is not set: the several-servers test needs PostgreSQL");
        return;
    };
    let db = db.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The demo site, on SQLite files.
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
    let (cfg_a, cfg_b, cfg_0) = (
        config(tmp.path(), "a", &db.url, &urls),
        config(tmp.path(), "b", &db.url, &urls),
        config(tmp.path(), "zero", &db.url, &urls),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A third engine in this process (its own data directory) takes requests and, for the
    // first one, runs every step up to `finalize`: the exported rows stay on its disk, where
    // neither server can read them.
    // The same keys, as files in its data directory (this process's environment is not set).
    let zero = tmp.path().join("zero");
    std::fs::create_dir_all(&zero).unwrap();
    for (_, file, v) in KEYS {
        std::fs::write(zero.join(file), v).unwrap();
    }
    let engine = Engine::open(Settings::load(Some(&cfg_0)).unwrap()).unwrap();
    let (first, first_token) = approved_access(&rt, &engine, "user1@example.test");
    loop {
        let turn = rt
            .block_on(rightful_engine::execution::run_once(&engine, "zero"))
            .unwrap();
        assert_ne!(turn, Turn::Idle, "stopped before finalize");
        let f2 = first.clone();
        let jobs = engine
            .store
            .with_conn(move |c| job::for_request(c, &f2))
            .unwrap();
        if jobs.iter().any(|j| j.step == "finalize") {
            break;
        }
    }
    let zero_rows = tmp.path().join("zero/results").join(&first).join("rows");
    assert!(
        std::fs::read_dir(&zero_rows).unwrap().count() >= 1,
        "the export ran on the third engine"
    );
    // Two servers, each with its own data directory, on the same engine database.
    let mut a = Server::start(&cfg_a);
    let b = Server::start(&cfg_b);
    wait_all_done(&engine.store, std::slice::from_ref(&first), 60);
    // Downloaded from both ports: the same ZIP, the one stored.
    let (status_a, body_a) = download(&rt, &a.addr, &first, &first_token);
    let (status_b, body_b) = download(&rt, &b.addr, &first, &first_token);
    assert_eq!((status_a, status_b), (200, 200));
    assert_eq!(body_a, body_b, "both servers serve the same result");
    check_zip(&engine, &rt, &first, &body_a);
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(body_a)).unwrap();
    // Every store exported on the third engine is in the ZIP, exported again by the server
    // that finalized (it could not read those files).
    let exported: Vec<String> = std::fs::read_dir(&zero_rows)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for file in &exported {
        let store = file.strip_suffix(".jsonl").unwrap();
        let mut rows = String::new();
        z.by_name(&format!("data/{store}.json"))
            .unwrap()
            .read_to_string(&mut rows)
            .unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_str(&rows).unwrap();
        assert!(!rows.is_empty(), "{store}: the records of user1");
    }
    // Nothing of it is left on the servers' disks.
    for name in ["a", "b"] {
        assert!(
            !tmp.path().join(name).join("results").join(&first).exists(),
            "{name} keeps no local copy"
        );
    }
    // A batch of access requests; server A is killed in the middle of it.
    let mut batch = Vec::new();
    for n in 2..=17 {
        batch.push(approved_access(
            &rt,
            &engine,
            &format!("user{n}@example.test"),
        ));
    }
    let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
    let started = Instant::now();
    while progress(&engine.store, &ids).0 < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the servers did no work"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    a.kill();
    let (done, all, completed) = progress(&engine.store, &ids);
    assert!(
        completed < ids.len(),
        "killed in the middle: {done} of {all} steps done, {completed} requests completed"
    );
    // B finishes everything, taking over A's steps when their leases end.
    wait_all_done(&engine.store, &ids, 180);
    let ids2 = ids.clone();
    let jobs: Vec<job::Job> = engine
        .store
        .with_conn(move |c| {
            let mut out = Vec::new();
            for id in &ids2 {
                out.extend(job::for_request(c, id)?);
            }
            Ok(out)
        })
        .unwrap();
    assert!(jobs.iter().all(|j| j.status == "done"));
    let by = |s: &Server| {
        jobs.iter()
            .filter(|j| j.worker.as_deref().is_some_and(|w| w.contains(&s.pid())))
            .count()
    };
    assert!(by(&a) > 0, "A worked on the batch before it was killed");
    assert!(by(&b) > 0, "B worked on the batch");
    // Every result of the batch downloads from B (A is gone), whichever server built it.
    for (id, token) in &batch {
        let (status, body) = download(&rt, &b.addr, id, token);
        assert_eq!(status, 200, "{id}");
        check_zip(&engine, &rt, id, &body);
    }
    drop(b);
    drop(a);
    drop(engine);
    drop(sites);
    drop(db);
}
