//! Issue 12 items 6 and 9: Rightful's own copies of personal data (private files, intermediates
//! deleted once the ZIP is written, results deleted when the download window ends or when the
//! subject's erasure completes), the certificate every erasure ends on, and the stores that
//! could not be searched with what the subject gave. Over a real server on a port, on the demo
//! site's three real stores.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::requests::code_in;
use rightful_engine::execution::Turn;
use rightful_tests::{DemoSite, TestApp};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Subject 16 of the demo site: on the technical newsletter only.
const NEWSLETTER_ONLY: &str = "user16@example.test";
/// Subject 60: a customer, a blog commenter.
const CUSTOMER: &str = "user60@example.test";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A server on a random port with a signed-in DPO.
struct Server {
    base: String,
    http: reqwest::Client,
    bearer: String,
}

impl Server {
    async fn start(app: &TestApp) -> Self {
        rightful_engine::auth::add_staff(
            &app.engine,
            "dpo1",
            rightful_engine::auth::Role::Dpo,
            "a long enough password",
        )
        .unwrap();
        let base = app.spawn().unwrap();
        let http = reqwest::Client::new();
        let login: serde_json::Value = http
            .post(format!("{base}/v1/auth/token"))
            .json(&serde_json::json!({"username": "dpo1", "password": "a long enough password"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
        Self { base, http, bearer }
    }

    /// Submits, confirms the e-mail code from the outbox, approves; returns `(id, token)`.
    async fn approved(&self, app: &TestApp, kind: &str, email: &str) -> (String, String) {
        self.approved_with(app, serde_json::json!({"type": kind, "email": email}))
            .await
    }

    /// The same with the request body `body` (names added).
    async fn approved_with(&self, app: &TestApp, mut body: serde_json::Value) -> (String, String) {
        body["first_name"] = "Ada".into();
        body["last_name"] = "Lovelace".into();
        let r: serde_json::Value = self
            .http
            .post(format!("{}/v1/requests", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (id, token) = (
            r["id"].as_str().unwrap().to_owned(),
            r["token"].as_str().unwrap().to_owned(),
        );
        let code = app
            .outbox()
            .iter()
            .rev()
            .find(|m| m.contains(&id) && m.contains("enter this code"))
            .map(|m| code_in(m))
            .unwrap();
        let v: serde_json::Value = self
            .http
            .post(format!("{}/v1/requests/{id}/verify", self.base))
            .header("Authorization", format!("Request {token}"))
            .json(&serde_json::json!({"code": code}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "awaiting_review", "{v}");
        let approved = self
            .http
            .post(format!("{}/v1/requests/{id}/decision", self.base))
            .header("Authorization", &self.bearer)
            .json(&serde_json::json!({"decision": "approve"}))
            .send()
            .await
            .unwrap();
        assert_eq!(approved.status(), 200);
        (id, token)
    }

    /// `GET /v1/requests/{id}/result`: the status and the body.
    async fn result(&self, id: &str, token: &str) -> (u16, Vec<u8>) {
        let res = self
            .http
            .get(format!("{}/v1/requests/{id}/result", self.base))
            .header("Authorization", format!("Request {token}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.bytes().await.unwrap().to_vec())
    }
}

fn unzip(bytes: Vec<u8>) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap()
}

fn file(z: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The demo site and an engine whose stores point at it; engine state on PostgreSQL
/// (`postgres`) or SQLite; `adjust` runs before the engine opens.
fn demo_app(
    postgres: bool,
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> Option<(TestApp, DemoSite)> {
    demo_app_of(100, postgres, adjust)
}

/// The same with `scale` subjects.
fn demo_app_of(
    scale: u64,
    postgres: bool,
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> Option<(TestApp, DemoSite)> {
    let site = DemoSite::new(scale)?;
    let urls = site.urls.clone();
    let app = TestApp::with(postgres, move |s| {
        s.stores.urls = urls;
        adjust(s);
    })
    .unwrap();
    Some((app, site))
}

fn deleted_entries(app: &TestApp, id: &str) -> Vec<rightful_core::audit::Entry> {
    app.trail()
        .into_iter()
        .filter(|e| e.content.action == "result.deleted" && e.content.target == id)
        .collect()
}

/// Issue 12 item 6: every file Rightful writes that may hold personal data is 0600 in a 0700
/// directory — the engine's SQLite database and its -wal/-shm, the keys, the outbox, the work
/// directory, the exported rows, the result ZIP — older, wider ones are tightened on open, and
/// the rows are gone once the ZIP is written.
#[tokio::test]
async fn issue12_item6_every_file_holding_personal_data_is_private_and_the_rows_go_with_the_zip() {
    let Some((app, _site)) = demo_app(false, |s| {
        // An installation made before the rule: a world-readable data directory, key and
        // database file.
        let dir = &s.storage.data_dir;
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let key = dir.join("jwt.key");
        std::fs::write(&key, "0123456789abcdef0123456789abcdef").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let db = Path::new(&s.storage.database_url);
        std::fs::write(db, b"").unwrap();
        std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }) else {
        return;
    };
    let data = app.engine.settings.storage.data_dir.clone();
    let db = std::path::PathBuf::from(&app.engine.settings.storage.database_url);
    assert_eq!(mode(&data), 0o700, "data directory tightened");
    assert_eq!(mode(&data.join("jwt.key")), 0o600, "old key tightened");
    assert_eq!(mode(&data.join("signing.key")), 0o600, "new key");
    assert_eq!(mode(&db), 0o600, "engine database tightened");
    for companion in ["-wal", "-shm"] {
        let p = format!("{}{companion}", db.display());
        assert!(Path::new(&p).exists(), "{p} (WAL mode)");
        assert_eq!(mode(Path::new(&p)), 0o600, "{p}");
    }
    let server = Server::start(&app).await;
    let (id, token) = server.approved(&app, "access", CUSTOMER).await;
    let outbox = data.join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let mails: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!mails.is_empty());
    for m in &mails {
        assert_eq!(mode(m), 0o600, "{}", m.display());
    }
    // Turn by turn: after each export the rows file is private; after finalize it is gone.
    let work = data.join("results").join(&id);
    let mut rows_seen = 0;
    loop {
        match rightful_engine::execution::run_once(&app.engine, "test")
            .await
            .unwrap()
        {
            Turn::Idle => break,
            Turn::Ran(_, step, store, _) if step == "apply" => {
                let rows = work.join("rows").join(format!("{store}.jsonl"));
                assert_eq!(
                    (
                        mode(&data.join("results")),
                        mode(&work),
                        mode(&work.join("rows"))
                    ),
                    (0o700, 0o700, 0o700)
                );
                assert_eq!(mode(&rows), 0o600, "{}", rows.display());
                rows_seen += 1;
            }
            Turn::Ran(..) => {}
        }
    }
    assert!(rows_seen >= 2, "the shop and the CMS hold the customer");
    assert!(
        !work.join("rows").exists(),
        "the intermediates are deleted once the ZIP is written"
    );
    // Issue 13 item 6: the ZIP is stored in the engine's database; the local copy goes.
    assert!(
        !work.exists(),
        "the work directory goes once the result is stored"
    );
    assert!(
        stored(&app, &id).await,
        "the result is in the engine's database"
    );
    // The ZIP still holds the copy of every record.
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 200);
    let mut z = unzip(body);
    let shop: Vec<serde_json::Value> =
        serde_json::from_str(&file(&mut z, "data/shop.json")).unwrap();
    assert!(shop.iter().any(|r| r["table"] == "orders"), "{shop:?}");
    // The hash key, written on first use of a store.
    assert_eq!(mode(&data.join("hash.key")), 0o600);
}

/// Issue 12 item 6: when the download window ends, the scheduled sweep deletes the result
/// (audited, request id only) and the download answers 410.
#[tokio::test]
async fn issue12_item6_a_result_is_deleted_by_the_sweep_when_its_download_window_ends() {
    let Some((app, _site)) = demo_app(true, |s| s.execution.download_days = 2) else {
        return;
    };
    let server = Server::start(&app).await;
    let (id, token) = server.approved(&app, "access", CUSTOMER).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let work = app
        .engine
        .settings
        .storage
        .data_dir
        .join("results")
        .join(&id);
    assert_eq!(server.result(&id, &token).await.0, 200);
    // Inside the window the sweep keeps it.
    let now = chrono::Utc::now();
    let run = rightful_engine::reminders::run(&app.engine, now + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(run.results_deleted, 0);
    assert!(stored(&app, &id).await);
    // Once it has ended (`rightful reminders run` and the server's schedule run the same code).
    let run = rightful_engine::reminders::run(&app.engine, now + chrono::Duration::days(3))
        .await
        .unwrap();
    assert_eq!(run.results_deleted, 1);
    assert!(!work.exists(), "the work directory is gone");
    assert!(!stored(&app, &id).await, "the stored result is gone");
    assert_eq!(
        rightful_engine::execution::result_chunk(&app.engine, &id, 0)
            .await
            .unwrap(),
        None,
        "and its chunks"
    );
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let entries = deleted_entries(&app, &id);
    assert_eq!(entries.len(), 1, "audited once");
    let e = &entries[0].content;
    assert_eq!(
        (e.actor.as_str(), e.details.clone()),
        ("system", serde_json::json!({}))
    );
    assert!(
        !e.reason.contains('@') && !e.reason.contains("user60"),
        "{}",
        e.reason
    );
    // Run again: nothing more to delete, nothing audited twice.
    let run = rightful_engine::reminders::run(&app.engine, now + chrono::Duration::days(4))
        .await
        .unwrap();
    assert_eq!(run.results_deleted, 0);
    assert_eq!(deleted_entries(&app, &id).len(), 1);
}

/// Issue 12 item 6: when a subject's erasure completes, Rightful's own earlier copy of their
/// data (their access result) goes too, audited; another subject's result stays.
#[tokio::test]
async fn issue12_item6_an_erasure_deletes_the_subjects_earlier_access_result() {
    let Some((app, _site)) = demo_app(true, |_| {}) else {
        return;
    };
    let server = Server::start(&app).await;
    let (access, access_token) = server.approved(&app, "access", NEWSLETTER_ONLY).await;
    let (other, other_token) = server.approved(&app, "access", CUSTOMER).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert_eq!(server.result(&access, &access_token).await.0, 200);
    assert_eq!(server.result(&other, &other_token).await.0, 200);
    let (erasure, erasure_token) = server.approved(&app, "erasure", NEWSLETTER_ONLY).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert_eq!(server.result(&erasure, &erasure_token).await.0, 200);
    let results = app.engine.settings.storage.data_dir.join("results");
    assert!(
        !results.join(&access).exists() && !stored(&app, &access).await,
        "the earlier access result is deleted"
    );
    let (status, _) = server.result(&access, &access_token).await;
    assert_eq!(status, 410, "gone, as after the download window");
    let entries = deleted_entries(&app, &access);
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].content.reason.contains(&erasure),
        "{:?}",
        entries[0]
    );
    assert!(!entries[0].content.reason.contains('@'));
    // Another subject's result is not touched.
    assert!(stored(&app, &other).await);
    assert_eq!(server.result(&other, &other_token).await.0, 200);
    assert!(deleted_entries(&app, &other).is_empty());
}

/// Issue 12 item 9: an erasure of an address no store holds ends on a signed certificate saying
/// "nothing found", downloadable over HTTP (it answered 404 like a wrong token), naming the
/// logs as not searched by an e-mail address.
#[tokio::test]
async fn issue12_item9_an_erasure_of_an_unknown_address_yields_a_downloadable_certificate() {
    let Some((app, _site)) = demo_app(true, |_| {}) else {
        return;
    };
    let server = Server::start(&app).await;
    let (id, token) = server
        .approved(&app, "erasure", "nobody-at-all@example.test")
        .await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut z = unzip(body);
    let cert: rightful_engine::execution::Certificate = app
        .engine
        .signer
        .verify(file(&mut z, "certificate.jws").trim())
        .unwrap();
    assert_eq!(cert.sub, id);
    assert_eq!(cert.outcome, "nothing found");
    assert!(cert.kept.is_empty());
    assert_eq!(cert.stores.len(), 3, "{:?}", cert.stores);
    assert!(
        cert.not_searched.iter().any(
            |n| n["store"] == "logs" && n["searchable_by"] == serde_json::json!(["ip_address"])
        ),
        "{:?}",
        cert.not_searched
    );
    // The notice offers the download and does not say "we hold nothing".
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(notice.contains("/result"), "{notice}");
    assert!(notice.contains("Not searched: logs"), "{notice}");
    assert!(!notice.contains("found in our systems"), "{notice}");
    assert!(!notice.contains("all of its systems"), "{notice}");
}

/// Issue 12 item 9: a subject known by an e-mail address only is not told "we hold no personal
/// data about you": the logs, searchable by IP address only, are named as not searched with the
/// identifier that would let them be (Art. 11(2), 12(6)), in the report and in the notice.
#[tokio::test]
async fn issue12_item9_an_access_report_without_an_ip_names_the_logs_as_not_searched() {
    let Some((app, _site)) = demo_app(true, |_| {}) else {
        return;
    };
    let server = Server::start(&app).await;
    let (id, token) = server
        .approved(&app, "access", "visitor-only@example.test")
        .await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 200);
    let mut z = unzip(body);
    let report: serde_json::Value = serde_json::from_str(&file(&mut z, "report.json")).unwrap();
    assert_eq!(report["data_found"], false);
    let confirmation = report["confirmation"].as_str().unwrap();
    assert!(
        !confirmation.contains("any of our systems"),
        "{confirmation}"
    );
    assert!(
        confirmation.contains("Not searched: logs") && confirmation.contains("IP address"),
        "{confirmation}"
    );
    assert_eq!(
        report["stores_not_searched"],
        serde_json::json!([{"store": "logs", "searchable_by": ["ip_address"], "reason": "none of the identifiers this system is searched by was given or found"}])
    );
    let searched: Vec<&str> = report["stores_searched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect();
    assert_eq!(searched, ["cms", "shop"]);
    let html = file(&mut z, "report.html");
    assert!(
        html.contains("Systems we could not search") && html.contains("logs"),
        "{html}"
    );
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(notice.contains("Not searched: logs"), "{notice}");
    assert!(!notice.contains("found in our systems"), "{notice}");
    assert!(!notice.contains("all of its systems"), "{notice}");
}

/// Issue 12 item 9: an erasure that keeps everything it covers ends on a signed certificate
/// listing the kept items with their grounds, downloadable (it answered 404 like a wrong token).
/// Customer 750's last order is paid but not delivered (the contract is still being performed)
/// and their invoices are within their ten years (the law keeps them); the erasure is limited
/// to the orders.
#[tokio::test]
async fn issue12_item9_an_erasure_that_keeps_everything_yields_a_certificate_of_the_kept_items() {
    let Some((app, _site)) = demo_app_of(750, true, |_| {}) else {
        return;
    };
    let server = Server::start(&app).await;
    let (id, token) = server
        .approved_with(
            &app,
            serde_json::json!({"type": "erasure", "email": "user750@example.test", "details": {"purposes": ["orders"]}}),
        )
        .await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mut z = unzip(body);
    let cert: rightful_engine::execution::Certificate = app
        .engine
        .signer
        .verify(file(&mut z, "certificate.jws").trim())
        .unwrap();
    assert_eq!(cert.outcome, "nothing changed: everything found is kept");
    let mut kept: Vec<(&str, &str)> = cert
        .kept
        .iter()
        .map(|k| {
            (
                k["category"].as_str().unwrap(),
                k["action"]["ground"].as_str().unwrap(),
            )
        })
        .collect();
    kept.sort_unstable();
    assert_eq!(
        kept,
        [
            ("identification", "contract_in_progress"),
            ("invoices", "legal_obligation"),
            ("products_ordered", "contract_in_progress"),
        ]
    );
    assert!(
        cert.stores
            .iter()
            .all(|s| s["changes"].as_array().is_none_or(|c| c.is_empty())),
        "{:?}",
        cert.stores
    );
    // The notice gives the kept items and the download.
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(
        notice.contains("Kept: orders / invoices") && notice.contains("/result"),
        "{notice}"
    );
}

/// Issue 13 item 6: a result larger than one chunk is streamed from the engine's database chunk
/// by chunk, whole and in order, over HTTP.
#[tokio::test]
async fn issue13_item6_a_result_of_several_chunks_downloads_whole_and_in_order() {
    let Some((app, _site)) = demo_app(true, |_| {}) else {
        return;
    };
    let server = Server::start(&app).await;
    let (id, token) = server.approved(&app, "access", CUSTOMER).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert!(stored(&app, &id).await);
    // Two and a half chunks of bytes that differ from one chunk to the next.
    use rightful_store::models::result as r;
    let bytes: Vec<u8> = (0..r::CHUNK * 5 / 2)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let (id2, b2) = (id.clone(), bytes.clone());
    app.engine
        .store
        .run(move |c| {
            r::delete(c, &id2)?;
            for (seq, part) in b2.chunks(r::CHUNK).enumerate() {
                r::put_chunk(c, &id2, i32::try_from(seq).unwrap(), part)?;
            }
            let size = i64::try_from(b2.len()).unwrap();
            r::finish(c, &id2, size, "test", chrono::Utc::now().naive_utc())
        })
        .await
        .unwrap();
    let (status, body) = server.result(&id, &token).await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), bytes.len(), "every chunk");
    assert!(body == bytes, "in order");
}

/// Whether request `id`'s result is stored in the engine's database (issue 13 item 6).
async fn stored(app: &TestApp, id: &str) -> bool {
    rightful_engine::execution::stored_result(&app.engine, id)
        .await
        .unwrap()
        .is_some()
}
