//! Rights carried out on the demo site over the three real stores (shop on PostgreSQL, CMS on
//! MariaDB, logs on SQLite), through the HTTP API: approval starts durable jobs, workers carry
//! them out, the subject downloads the result.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::call;
use crate::documents::verified;
use crate::requests::dpo_bearer;
use actix_web::test as atest;
use rightful_tests::{DemoSite, TestApp};
use std::io::Read;

/// The demo site and an engine (state on PostgreSQL) whose stores point at it.
fn demo_app(
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> Option<(TestApp, DemoSite)> {
    demo_app_of(100, adjust)
}

/// The same with `scale` subjects.
fn demo_app_of(
    scale: u64,
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> Option<(TestApp, DemoSite)> {
    let site = DemoSite::new(scale)?;
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        adjust(s);
    })
    .unwrap();
    Some((app, site))
}

fn approve(id: &str, bearer: &str) -> atest::TestRequest {
    atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/decision"))
        .insert_header(("Authorization", bearer.to_owned()))
        .set_json(serde_json::json!({"decision": "approve"}))
}

async fn result_zip<S>(svc: &S, id: &str, token: &str) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let res = atest::call_service(
        svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}/result"))
            .insert_header(("Authorization", format!("Request {token}")))
            .to_request(),
    )
    .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/zip"
    );
    let bytes = atest::read_body(res).await.to_vec();
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap()
}

fn file(z: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn names(z: &zip::ZipArchive<std::io::Cursor<Vec<u8>>>) -> Vec<String> {
    let mut n: Vec<String> = z.file_names().map(|f| f.unwrap().into_owned()).collect();
    n.sort();
    n
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let id = id.to_owned();
    app.engine
        .store
        .run(move |c| rightful_store::models::request::find(c, &id))
        .await
        .unwrap()
        .unwrap()
        .status
}

/// Subject 60 of the demo site: a customer (orders, invoices), on both newsletters, a blog
/// commenter.
const CUSTOMER: &str = "user60@example.test";
/// Subject 2640: a customer whose invoices are still within their ten years (its orders are
/// recent), in every purpose but the site's administration; needs a site of 2,640 subjects.
const RECENT_CUSTOMER: &str = "user2640@example.test";
/// Subject 16: on the technical newsletter only.
const NEWSLETTER_ONLY: &str = "user16@example.test";

#[actix_web::test]
async fn b1_b4_access_reports_every_purpose_with_a_to_h_and_copies_every_record() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "access", "email": CUSTOMER}),
    )
    .await;
    // Not ready before it is carried out.
    let (status, e) = call(
        &svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}/result"))
            .insert_header(("Authorization", format!("Request {token}"))),
    )
    .await;
    assert_eq!((status, e["error"].as_str()), (409, Some("not_ready")));
    assert_eq!(call(&svc, approve(&id, &bearer)).await.0, 200);
    let ran = rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert!(ran >= 5, "discover ×3, apply, finalize: {ran}");
    assert_eq!(status_of(&app, &id).await, "completed");
    let mut z = result_zip(&svc, &id, &token).await;
    // The file list (snapshot): the report, readable and structured, the glossary, one data file
    // per store that holds the subject.
    assert_eq!(
        names(&z),
        [
            "data/cms.json",
            "data/shop.json",
            "glossary.json",
            "report.html",
            "report.json"
        ]
    );
    let report: serde_json::Value = serde_json::from_str(&file(&mut z, "report.json")).unwrap();
    assert_eq!(report["data_found"], true);
    let mut purposes: Vec<&str> = report["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    purposes.sort_unstable();
    assert_eq!(
        purposes,
        [
            "blog_comments",
            "commercial_newsletter",
            "orders",
            "technical_newsletter"
        ]
    );
    // B2: every purpose has items (a)-(h) and the transfers; recipients are named.
    for p in report["purposes"].as_array().unwrap() {
        for key in [
            "a_purpose",
            "b_categories",
            "c_recipients",
            "d_retention",
            "e_rights",
            "f_complaint",
            "g_source",
            "h_automated_decisions",
            "transfers",
        ] {
            assert!(!p[key].is_null(), "{} lacks {key}", p["id"]);
        }
    }
    let orders = report["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "orders")
        .unwrap();
    assert!(
        orders["c_recipients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "PayPal"),
        "{orders}"
    );
    // B3: a faithful copy: every order row of the subject is in the shop file.
    let shop: Vec<serde_json::Value> =
        serde_json::from_str(&file(&mut z, "data/shop.json")).unwrap();
    assert!(shop.iter().any(|r| r["table"] == "orders"), "orders copied");
    assert!(
        shop.iter().any(|r| r["table"] == "invoices"),
        "invoices copied"
    );
    let cms: Vec<serde_json::Value> = serde_json::from_str(&file(&mut z, "data/cms.json")).unwrap();
    assert!(cms.iter().any(|r| {
        r["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["value"] == CUSTOMER)
    }));
    let glossary: serde_json::Value = serde_json::from_str(&file(&mut z, "glossary.json")).unwrap();
    assert!(glossary["fields"].as_object().unwrap().len() > 10);
    assert!(file(&mut z, "report.html").contains("<h2>"));
    // The subject is told, and the audit trail holds each step once.
    assert!(
        app.outbox()
            .iter()
            .any(|m| m.contains(&id) && m.contains("has carried out your access request"))
    );
    let done = app
        .trail()
        .iter()
        .filter(|e| {
            e.content.target == id
                && e.content.action.starts_with("execution.")
                && e.content.action.ends_with("_done")
        })
        .count();
    assert_eq!(done, ran);
}

#[actix_web::test]
async fn b1_someone_who_appears_nowhere_gets_an_explicit_negative_confirmation() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "access", "email": "nobody@example.test"}),
    )
    .await;
    call(&svc, approve(&id, &bearer)).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let mut z = result_zip(&svc, &id, &token).await;
    assert_eq!(names(&z), ["glossary.json", "report.html", "report.json"]);
    let report: serde_json::Value = serde_json::from_str(&file(&mut z, "report.json")).unwrap();
    assert_eq!(report["data_found"], false);
    assert!(
        report["confirmation"]
            .as_str()
            .unwrap()
            .contains("no personal data")
    );
    // Every store that can be searched by an e-mail address was; the logs, searchable by IP
    // address only, are named as not searched (issue 12 item 9).
    assert_eq!(report["stores_searched"].as_array().unwrap().len(), 2);
    assert_eq!(report["stores_not_searched"][0]["store"], "logs");
}

#[actix_web::test]
async fn c3_erasure_keeps_only_the_invoices_and_issues_a_signed_certificate() {
    let Some((app, site)) = demo_app_of(2700, |_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "erasure", "email": RECENT_CUSTOMER}),
    )
    .await;
    call(&svc, approve(&id, &bearer)).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let journal = rightful_engine::execution::journal(&app.engine, &id)
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed", "{journal:#?}");
    let mut z = result_zip(&svc, &id, &token).await;
    assert_eq!(names(&z), ["certificate.json", "certificate.jws"]);
    let cert: rightful_engine::execution::Certificate = app
        .engine
        .signer
        .verify(file(&mut z, "certificate.jws").trim())
        .unwrap();
    assert_eq!(
        (cert.sub.as_str(), cert.typ.as_str()),
        (id.as_str(), "rightful.erasure_certificate")
    );
    assert_eq!(cert.stores.len(), 3, "every store searched again");
    // C4: the published comments were erased; search engines are to be asked to forget them.
    assert!(
        cert.processors
            .iter()
            .any(|p| p["event"] == "public_data_erasure" && p["status"] == "manual_pending"),
        "{:?}",
        cert.processors
    );
    // C3: the invoices are kept under the accounting obligation, with a date; the reply says so.
    assert!(
        cert.kept.iter().any(|k| k["category"] == "invoices"
            && k["action"]["ground"] == "legal_obligation"
            && k["action"]["until"].is_string()),
        "{:?}",
        cert.kept
    );
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(notice.contains("Kept: orders / invoices"), "{notice}");
    // In the stores: nothing is found by the address any more; the invoices stay, reachable
    // only through the anonymised customer record.
    let connectors: Vec<rightful_connectors::Connector> = site
        .urls
        .iter()
        .map(|(name, url)| {
            let store = app
                .engine
                .stores
                .iter()
                .find(|s| &s.map.name == name)
                .unwrap();
            rightful_connectors::Connector::open(store.map.clone(), url, b"k".to_vec()).unwrap()
        })
        .collect();
    let by = |kind: &str, value: &str| {
        let mut ids = rightful_connectors::Identities::new();
        ids.insert(kind.into(), [value.to_owned()].into());
        connectors
            .iter()
            .flat_map(|c| c.discover(&ids).unwrap().hits)
            .map(|h| h.table)
            .collect::<Vec<_>>()
    };
    assert!(
        by("email", RECENT_CUSTOMER).is_empty(),
        "{:?}",
        by("email", RECENT_CUSTOMER)
    );
    let kept = by("customer_id", "2640");
    assert!(kept.contains(&"invoices".to_owned()), "{kept:?}");
    assert!(
        !kept.contains(&"order_lines".to_owned()),
        "products ordered are erased: {kept:?}"
    );
}

#[actix_web::test]
async fn a_person_known_only_by_a_newsletter_address_is_erased_everywhere() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "erasure", "email": NEWSLETTER_ONLY, "language": "fr"}),
    )
    .await;
    call(&svc, approve(&id, &bearer)).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed");
    let mut z = result_zip(&svc, &id, &token).await;
    let cert: rightful_engine::execution::Certificate = app
        .engine
        .signer
        .verify(file(&mut z, "certificate.jws").trim())
        .unwrap();
    assert!(cert.kept.is_empty(), "{:?}", cert.kept);
    assert!(
        cert.stores
            .iter()
            .all(|s| s["still_found"].as_array().unwrap().is_empty()),
        "{:?}",
        cert.stores
    );
    // A11: the completion notice, summary included, is in the subject's language.
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("a donné suite"))
        .unwrap();
    assert!(
        notice.contains("enregistrement(s) supprimé(s)") && !notice.contains("record(s)"),
        "{notice}"
    );
}

#[actix_web::test]
async fn c6_portability_gives_json_and_csv_per_eligible_purpose_and_says_what_is_not_eligible() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "portability", "email": CUSTOMER}),
    )
    .await;
    call(&svc, approve(&id, &bearer)).await;
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let mut z = result_zip(&svc, &id, &token).await;
    let manifest: serde_json::Value = serde_json::from_str(&file(&mut z, "manifest.json")).unwrap();
    let files: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert!(
        files.contains(&"orders.json".to_owned()) && files.contains(&"orders.csv".to_owned()),
        "{files:?}"
    );
    for f in &files {
        let text = file(&mut z, f);
        if f.ends_with(".json") {
            let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
            assert!(!rows.is_empty(), "{f}");
        } else {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let width = r.headers().unwrap().len();
            let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
            assert!(
                !records.is_empty() && records.iter().all(|rec| rec.len() == width),
                "{f}"
            );
        }
    }
    let not_eligible: Vec<serde_json::Value> =
        serde_json::from_str(&file(&mut z, "not_eligible.json")).unwrap();
    assert!(
        not_eligible
            .iter()
            .all(|n| n["reason"]["reason"].is_string())
    );
}

/// Runs one worker turn.
async fn turn(app: &TestApp, worker: &str) -> rightful_engine::execution::Turn {
    rightful_engine::execution::run_once(&app.engine, worker)
        .await
        .unwrap()
}

fn done_entries(app: &TestApp, id: &str) -> Vec<String> {
    app.trail()
        .into_iter()
        .filter(|e| {
            e.content.target == id
                && e.content.action.starts_with("execution.")
                && e.content.action.ends_with("_done")
        })
        .map(|e| {
            format!(
                "{} {} {}",
                e.content.action,
                e.content.details["store"].as_str().unwrap_or(""),
                e.content.details["round"]
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_worker_killed_in_the_middle_of_an_erasure_is_taken_over_and_no_step_is_done_twice() {
    let Some((app, site)) = demo_app(|s| s.execution.lease_secs = 1) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, _) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "erasure", "email": CUSTOMER}),
    )
    .await;
    call(&svc, approve(&id, &bearer)).await;
    // Discovery runs; stop as soon as the erasure steps are queued.
    let jobs = |app: &TestApp| {
        let id = id.clone();
        app.engine
            .store
            .with_conn(move |c| rightful_store::models::job::for_request(c, &id))
            .unwrap()
    };
    while !jobs(&app).iter().any(|j| j.step == "apply") {
        assert!(matches!(
            turn(&app, "live").await,
            rightful_engine::execution::Turn::Ran(..)
        ));
    }
    // A worker claims the shop's erasure, commits it in the store, and dies before journalling.
    let now = chrono::Utc::now().naive_utc();
    let claimed = app
        .engine
        .store
        .with_conn(move |c| {
            rightful_store::models::job::claim(c, "doomed", now, now + chrono::Duration::seconds(1))
        })
        .unwrap()
        .unwrap();
    assert_eq!(claimed.step, "apply");
    let ex = {
        let id = id.clone();
        app.engine
            .store
            .with_conn(move |c| rightful_store::models::job::get(c, &id))
            .unwrap()
            .unwrap()
    };
    let plan: rightful_core::rights::Plan = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(ex.plan.as_deref().unwrap()).unwrap()["plan"]
            .clone(),
    )
    .unwrap();
    let ids: rightful_connectors::Identities = serde_json::from_str(&ex.identities).unwrap();
    let store = app
        .engine
        .stores
        .iter()
        .find(|s| s.map.name == claimed.store)
        .unwrap();
    let c = rightful_connectors::Connector::open(
        store.map.clone(),
        &site.urls[&claimed.store],
        rightful_engine::stores::hash_key(&app.engine.settings).unwrap(),
    )
    .unwrap();
    let applied = c.erase(&c.discover(&ids).unwrap(), &plan).unwrap();
    assert!(!applied.changes.is_empty());
    // Its lease runs out; the live worker takes the step over and the request completes.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    rightful_engine::execution::drain(&app.engine, "live")
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed");
    let journal = jobs(&app);
    let taken = journal.iter().find(|j| j.id == claimed.id).unwrap();
    assert_eq!(
        (
            taken.status.as_str(),
            taken.attempts,
            taken.worker.as_deref()
        ),
        ("done", 2, Some("live"))
    );
    // Each step is journalled done exactly once, and nothing that should be gone remains (the
    // finalize step searched every store again).
    let done = done_entries(&app, &id);
    let unique: std::collections::BTreeSet<&String> = done.iter().collect();
    assert_eq!(done.len(), unique.len(), "{done:?}");
    assert_eq!(done.len(), journal.len());
}

/// A TCP relay to PostgreSQL that can be stopped and started again on the same port: the store
/// "goes down" and "comes back".
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self { port, task: None }
    }

    async fn start(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.task = Some(tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        }));
    }

    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_pauses_the_request_which_completes_when_it_comes_back() {
    let Some(site) = DemoSite::new(100) else {
        return;
    };
    let mut relay = Relay::new();
    let mut urls = site.urls.clone();
    let shop = urls["shop"].replace("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port));
    assert_ne!(shop, urls["shop"], "the shop is on the local PostgreSQL");
    urls.insert("shop".into(), shop);
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        s.execution.retry_secs = 0;
    })
    .unwrap();
    let s = rightful_tests::submission("erasure", NEWSLETTER_ONLY);
    let accepted = rightful_engine::intake::submit(&app.engine, s, "web", chrono::Utc::now())
        .await
        .unwrap();
    let id = accepted.id.clone();
    app.to_review(&id);
    rightful_engine::intake::decide(
        &app.engine,
        &id,
        rightful_engine::intake::Decision::Approve,
        "dpo:test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // The shop is down: its discovery cannot run, the request pauses, the others go on.
    for _ in 0..4 {
        rightful_engine::execution::run_once(&app.engine, "w")
            .await
            .unwrap();
    }
    assert_eq!(status_of(&app, &id).await, "paused");
    let journal = rightful_engine::execution::journal(&app.engine, &id)
        .await
        .unwrap();
    let shop = journal.iter().find(|j| j["store"] == "shop").unwrap();
    assert!(
        shop["last_error"].as_str().unwrap().contains("unreachable"),
        "{shop}"
    );
    assert!(
        !shop["last_error"].as_str().unwrap().contains("user16"),
        "no personal data in errors"
    );
    // It comes back: the request resumes and completes.
    relay.start().await;
    rightful_engine::execution::drain(&app.engine, "w")
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed");
    let steps: Vec<String> = app
        .trail()
        .into_iter()
        .filter(|e| e.content.target == id && e.content.action.starts_with("request."))
        .map(|e| e.content.action)
        .collect();
    assert!(
        steps.contains(&"request.paused".to_owned())
            && steps.contains(&"request.completed".to_owned()),
        "{steps:?}"
    );
    relay.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_share_the_queue_and_run_each_step_once() {
    let Some(site) = DemoSite::new(100) else {
        return;
    };
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        s.storage.pool_size = 4;
    })
    .unwrap();
    if !app
        .engine
        .settings
        .storage
        .database_url
        .starts_with("postgres")
    {
        return;
    }
    // A second server: its own engine (own pools) on the same PostgreSQL database.
    let other = rightful_engine::Engine::open((*app.engine.settings).clone()).unwrap();
    let mut ids = Vec::new();
    for n in [60, 16, 12, 20] {
        let s = rightful_tests::submission(
            if n % 2 == 0 { "erasure" } else { "access" },
            &format!("user{n}@example.test"),
        );
        let a = rightful_engine::intake::submit(&app.engine, s, "web", chrono::Utc::now())
            .await
            .unwrap();
        app.to_review(&a.id);
        rightful_engine::intake::decide(
            &app.engine,
            &a.id,
            rightful_engine::intake::Decision::Approve,
            "dpo:test",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        ids.push(a.id);
    }
    let (a, b) = tokio::join!(
        rightful_engine::execution::drain(&app.engine, "server-a"),
        rightful_engine::execution::drain(&other, "server-b"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a > 0 && b > 0, "both servers worked: {a} and {b}");
    for id in &ids {
        assert_eq!(status_of(&app, id).await, "completed");
        let id2 = id.clone();
        let journal = app
            .engine
            .store
            .with_conn(move |c| rightful_store::models::job::for_request(c, &id2))
            .unwrap();
        assert!(
            journal
                .iter()
                .all(|j| j.status == "done" && j.attempts == 1),
            "{journal:?}"
        );
        let done = done_entries(&app, id);
        assert_eq!(
            done.len(),
            journal.len(),
            "each step journalled done once: {done:?}"
        );
    }
}

/// Carries out a request of `body` for its subject through the API: verify, approve, run.
async fn carried_out<S>(
    app: &TestApp,
    svc: &S,
    bearer: &str,
    body: serde_json::Value,
) -> (String, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let (id, token) = verified(app, svc, body).await;
    assert_eq!(call(svc, approve(&id, bearer)).await.0, 200);
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let journal = rightful_engine::execution::journal(&app.engine, &id)
        .await
        .unwrap();
    assert_eq!(status_of(app, &id).await, "completed", "{journal:#?}");
    (id, token)
}

/// The subject's rows in every store, by table: `(table, column → value)`.
fn rows(
    app: &TestApp,
    site: &DemoSite,
    email: &str,
) -> Vec<(
    String,
    std::collections::BTreeMap<String, serde_json::Value>,
)> {
    let mut ids = rightful_connectors::Identities::new();
    ids.insert("email".into(), [email.to_owned()].into());
    let mut out = Vec::new();
    for (name, url) in &site.urls {
        let store = app
            .engine
            .stores
            .iter()
            .find(|s| &s.map.name == name)
            .unwrap();
        let c =
            rightful_connectors::Connector::open(store.map.clone(), url, b"k".to_vec()).unwrap();
        let found = c.discover(&ids).unwrap();
        c.export(&found, &mut |r| {
            out.push((
                r.table,
                r.values
                    .into_iter()
                    .map(|(col, _, _, v)| (col, v))
                    .collect(),
            ));
            Ok(())
        })
        .unwrap();
    }
    out
}

#[actix_web::test]
async fn c1_c8_a_rectification_reaches_every_store_holding_the_field_and_the_processors_are_told() {
    let Some((app, site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, _) = carried_out(&app, &svc, &bearer, serde_json::json!({"type": "rectification", "email": CUSTOMER, "details": {"new_values": {"phone": "+33 4 76 00 00 01"}}})).await;
    let phones: Vec<serde_json::Value> = rows(&app, &site, CUSTOMER)
        .into_iter()
        .filter_map(|(_, v)| v.get("phone").cloned())
        .collect();
    assert!(
        !phones.is_empty() && phones.iter().all(|p| p == "+33 4 76 00 00 01"),
        "{phones:?}"
    );
    // C8: every processor of the purposes concerned has an outbound record.
    let id2 = id.clone();
    let notes = app
        .engine
        .store
        .with_conn(move |c| rightful_store::models::notification::for_request(c, &id2))
        .unwrap();
    assert!(
        !notes.is_empty() && notes.iter().all(|n| n.event == "rectification"),
        "{notes:?}"
    );
}

#[actix_web::test]
async fn c5_restriction_flags_the_rows_where_the_store_can_and_records_the_rest() {
    let Some((app, site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, _) = carried_out(
        &app,
        &svc,
        &bearer,
        serde_json::json!({"type": "restriction", "email": CUSTOMER}),
    )
    .await;
    let ex = {
        let id = id.clone();
        app.engine
            .store
            .with_conn(move |c| rightful_store::models::job::get(c, &id))
            .unwrap()
            .unwrap()
    };
    let outcome: serde_json::Value = serde_json::from_str(ex.outcome.as_deref().unwrap()).unwrap();
    let restricted: Vec<String> = outcome["applied"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|a| a["changes"].as_array().cloned().unwrap_or_default())
        .filter(|c| c[1] == "restrict")
        .map(|c| c[0].as_str().unwrap().to_owned())
        .collect();
    assert!(
        restricted.contains(&"customers".to_owned())
            && restricted.contains(&"commercial_newsletter".to_owned()),
        "{restricted:?}"
    );
    let unrecorded: Vec<&serde_json::Value> = outcome["applied"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|a| {
            a["unrecorded_restrictions"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .collect();
    assert!(
        !unrecorded.is_empty(),
        "tables without a flag are listed for the DPO"
    );
    // Nothing was deleted.
    assert!(
        rows(&app, &site, CUSTOMER)
            .iter()
            .any(|(t, _)| t == "commercial_newsletter")
    );
}

#[actix_web::test]
async fn c7_c9_a_marketing_objection_and_a_withdrawal_stop_the_newsletters_and_leave_the_rest() {
    let Some((app, site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    // C7: an objection to direct marketing needs no grounds and is absolute.
    carried_out(&app, &svc, &bearer, serde_json::json!({"type": "objection", "email": CUSTOMER, "details": {"purposes": ["commercial_newsletter"]}})).await;
    let tables: Vec<String> = rows(&app, &site, CUSTOMER)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(
        !tables.contains(&"commercial_newsletter".to_owned()),
        "{tables:?}"
    );
    assert!(
        tables.contains(&"technical_newsletter".to_owned())
            && tables.contains(&"customers".to_owned()),
        "{tables:?}"
    );
    // Only a keyed hash of the address stays, and the site's mailing tool can check it.
    rightful_engine::auth::add_staff(
        &app.engine,
        "mailer",
        rightful_engine::auth::Role::Site,
        "a long enough password",
    )
    .unwrap();
    let (_, login) = call(
        &svc,
        atest::TestRequest::post().uri("/v1/auth/token").set_json(
            serde_json::json!({"username": "mailer", "password": "a long enough password"}),
        ),
    )
    .await;
    let site_bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let check = |purpose: &str, email: &str| {
        atest::TestRequest::post()
            .uri("/v1/suppressions/check")
            .insert_header(("Authorization", site_bearer.clone()))
            .set_json(serde_json::json!({"purpose": purpose, "email": email}))
    };
    assert_eq!(
        call(
            &svc,
            check("commercial_newsletter", &CUSTOMER.to_uppercase())
        )
        .await
        .1["suppressed"],
        true
    );
    assert_eq!(
        call(&svc, check("commercial_newsletter", NEWSLETTER_ONLY))
            .await
            .1["suppressed"],
        false
    );
    assert_eq!(
        call(&svc, check("technical_newsletter", CUSTOMER)).await.1["suppressed"],
        false
    );
    assert_eq!(
        call(&svc, check("orders", CUSTOMER)).await.0,
        400,
        "not a marketing purpose"
    );
    let queue = atest::TestRequest::get()
        .uri("/v1/requests")
        .insert_header(("Authorization", site_bearer.clone()));
    assert_eq!(
        call(&svc, queue).await.0,
        403,
        "the site's account sees nothing else"
    );
    assert!(
        !format!("{:?}", app.trail()).contains("user60"),
        "no address in the audit trail"
    );
    // C9: withdrawing consent is as easy: the technical newsletter (another subject) stops too.
    let other = "user20@example.test";
    carried_out(&app, &svc, &bearer, serde_json::json!({"type": "withdraw_consent", "email": other, "details": {"purposes": ["commercial_newsletter"]}})).await;
    let tables: Vec<String> = rows(&app, &site, other)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(
        !tables.contains(&"commercial_newsletter".to_owned()),
        "{tables:?}"
    );
    assert!(
        tables.contains(&"blog_comments".to_owned()),
        "other purposes untouched: {tables:?}"
    );
}

/// A notice of death for `deceased` by `requester` as `role`, verified, with its documents
/// uploaded and accepted; returns the request id.
async fn notice_of_death<S>(
    app: &TestApp,
    svc: &S,
    bearer: &str,
    deceased: &str,
    requester: &str,
    role: &str,
) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    use crate::documents::{check, document, upload};
    let body = serde_json::json!({"type": "post_mortem", "email": requester, "details": {"action": "notice_of_death", "requester_role": role, "deceased": {"last_name": "Example", "first_name": "Sam", "email": deceased, "date_of_death": "2026-10-01"}}});
    let (id, token) = verified(app, svc, body).await;
    for kind in ["death_certificate", "heir_status"] {
        assert_eq!(
            call(
                svc,
                upload(&id, kind, Some(&token), "application/pdf", document(kind))
            )
            .await
            .0,
            204
        );
        assert_eq!(call(svc, check(&id, kind, bearer, "accepted")).await.0, 200);
    }
    id
}

#[actix_web::test]
async fn d1_d6_a_death_with_directives_is_carried_out_an_unnamed_executor_is_refused_and_rights_end()
 {
    let Some((app, site)) = demo_app_of(2700, |_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    // The customer registered directives: erase everything; Dee carries them out.
    let register = serde_json::json!({"type": "post_mortem", "email": RECENT_CUSTOMER, "details": {"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "erase"}], "executor": {"name": "Dee", "email": "dee@example.test"}}});
    let (reg, _) = verified(&app, &svc, register).await;
    assert_eq!(
        call(&svc, approve(&reg, &bearer)).await.1["status"],
        "completed"
    );
    // Someone else claiming to be the executor is refused (D6).
    let impostor = notice_of_death(
        &app,
        &svc,
        &bearer,
        RECENT_CUSTOMER,
        "eve@example.test",
        "executor",
    )
    .await;
    let (status, e) = call(&svc, approve(&impostor, &bearer)).await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("another person"),
        "{e}"
    );
    // The named executor's notice is carried out: erased, except what the law keeps.
    let id = notice_of_death(
        &app,
        &svc,
        &bearer,
        RECENT_CUSTOMER,
        "dee@example.test",
        "executor",
    )
    .await;
    assert_eq!(call(&svc, approve(&id, &bearer)).await.0, 200);
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let journal = rightful_engine::execution::journal(&app.engine, &id)
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed", "{journal:#?}");
    assert!(
        rows(&app, &site, RECENT_CUSTOMER).is_empty(),
        "nothing found by the address any more"
    );
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(
        notice.contains("directives were carried out")
            && notice.contains("Kept: orders / invoices"),
        "{notice}"
    );
    // D1: the subject's own rights have ended.
    let (late, _) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "access", "email": RECENT_CUSTOMER}),
    )
    .await;
    let (status, e) = call(&svc, approve(&late, &bearer)).await;
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("has died"), "{e}");
}

#[actix_web::test]
async fn d4_a_death_without_directives_is_recorded_and_the_heirs_limited_rights_are_stated() {
    let Some((app, site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let id = notice_of_death(
        &app,
        &svc,
        &bearer,
        NEWSLETTER_ONLY,
        "heir@example.test",
        "heir",
    )
    .await;
    assert_eq!(call(&svc, approve(&id, &bearer)).await.0, 200);
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed");
    assert!(
        !rows(&app, &site, NEWSLETTER_ONLY).is_empty(),
        "nothing is erased without directives"
    );
    let notice = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("carried out"))
        .unwrap();
    assert!(notice.contains("LIL art. 85-II"), "{notice}");
}

fn decide_on(id: &str, bearer: &str, body: serde_json::Value) -> atest::TestRequest {
    atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/decision"))
        .insert_header(("Authorization", bearer.to_owned()))
        .set_json(body)
}

#[actix_web::test]
async fn c5_a_restriction_is_lifted_only_after_the_subject_is_told() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, _) = carried_out(
        &app,
        &svc,
        &bearer,
        serde_json::json!({"type": "restriction", "email": CUSTOMER}),
    )
    .await;
    assert_eq!(
        call(
            &svc,
            decide_on(
                &id,
                &bearer,
                serde_json::json!({"decision": "lift_restriction", "reasons": " "})
            )
        )
        .await
        .0,
        400
    );
    let (access, _) = carried_out(
        &app,
        &svc,
        &bearer,
        serde_json::json!({"type": "access", "email": NEWSLETTER_ONLY}),
    )
    .await;
    assert_eq!(
        call(
            &svc,
            decide_on(
                &access,
                &bearer,
                serde_json::json!({"decision": "lift_restriction", "reasons": "x"})
            )
        )
        .await
        .0,
        400,
        "only a restriction can be lifted"
    );
    let (status, _) = call(&svc, decide_on(&id, &bearer, serde_json::json!({"decision": "lift_restriction", "reasons": "The accuracy of your data has been checked."}))).await;
    assert_eq!(status, 200);
    let trail = app.trail();
    let told = trail
        .iter()
        .position(|e| {
            e.content.target == id
                && e.content.action == "notice.sent"
                && e.content.details["notice"] == "restriction_lifted"
        })
        .unwrap();
    let lifted = trail
        .iter()
        .position(|e| e.content.target == id && e.content.action == "restriction.lifted")
        .unwrap();
    assert!(told < lifted, "told before it is lifted");
    let changes = trail[lifted].content.details["changes"].to_string();
    assert!(
        changes.contains("customers") && changes.contains("lift_restriction"),
        "{changes}"
    );
    assert!(
        app.outbox()
            .iter()
            .any(|m| m.contains(&id) && m.contains("before lifting that restriction"))
    );
}

#[actix_web::test]
async fn c7_an_objection_to_a_legitimate_interest_is_restricted_then_upheld_or_overridden_by_the_dpo()
 {
    let Some((app, site)) = demo_app(|_| {}) else {
        return;
    };
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let objection = |email: &str| serde_json::json!({"type": "objection", "email": email, "details": {"purposes": ["inquiries"], "grounds": "I no longer work in this field."}});
    // Upheld: the inquiries go, the rest stays.
    let (id, _) = carried_out(&app, &svc, &bearer, objection("user8@example.test")).await;
    assert!(
        rows(&app, &site, "user8@example.test")
            .iter()
            .any(|(t, _)| t == "inquiries"),
        "restricted, not erased, until assessed"
    );
    assert_eq!(call(&svc, decide_on(&id, &bearer, serde_json::json!({"decision": "assess_objection", "outcome": "upheld", "reasons": ""}))).await.0, 400);
    assert_eq!(call(&svc, decide_on(&id, &bearer, serde_json::json!({"decision": "assess_objection", "outcome": "upheld", "reasons": "No compelling ground outweighs the person's situation."}))).await.0, 200);
    let tables: Vec<String> = rows(&app, &site, "user8@example.test")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(
        !tables.contains(&"inquiries".to_owned())
            && tables.contains(&"technical_newsletter".to_owned()),
        "{tables:?}"
    );
    // Overridden: the compelling grounds are documented and the subject is told before the
    // restriction is lifted; the data stays.
    let (id2, _) = carried_out(&app, &svc, &bearer, objection("user15@example.test")).await;
    assert_eq!(call(&svc, decide_on(&id2, &bearer, serde_json::json!({"decision": "assess_objection", "outcome": "overridden", "reasons": "An open warranty claim needs this exchange (legal claims)."}))).await.0, 200);
    let trail = app.trail();
    assert!(
        trail
            .iter()
            .any(|e| e.content.target == id2 && e.content.action == "objection.overridden")
    );
    assert!(
        trail
            .iter()
            .any(|e| e.content.target == id2 && e.content.action == "restriction.lifted")
    );
    assert!(
        rows(&app, &site, "user15@example.test")
            .iter()
            .any(|(t, _)| t == "inquiries")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c6_the_portability_files_are_sent_directly_to_the_controller_the_subject_names() {
    use std::sync::{Arc, Mutex};
    let Some(site) = DemoSite::new(100) else {
        return;
    };
    // The receiving controller: a real HTTP server keeping what it receives.
    /// `(Rightful-Request header, body)` of each delivery.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let got: Received = Arc::default();
    let g = got.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = actix_web::HttpServer::new(move || {
        let g = g.clone();
        actix_web::App::new().route(
            "/import",
            actix_web::web::post().to(
                move |req: actix_web::HttpRequest, body: actix_web::web::Bytes| {
                    let g = g.clone();
                    async move {
                        let id = req
                            .headers()
                            .get("Rightful-Request")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        g.lock().unwrap().push((id, body.to_vec()));
                        actix_web::HttpResponse::Accepted().finish()
                    }
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        s.execution.allow_plain_http_transmit = true;
    })
    .unwrap();
    let accepted = rightful_engine::intake::submit(
        &app.engine,
        rightful_tests::submission("portability", CUSTOMER),
        "web",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let id = accepted.id.clone();
    // Intake accepts only https:// addresses; the test's receiver speaks plain HTTP, so the
    // address is set in the stored request.
    {
        let (id, url) = (id.clone(), format!("http://{addr}/import"));
        app.engine
            .store
            .with_conn(move |c| {
                use diesel::prelude::*;
                let details = serde_json::json!({"transmit_to": url, "language": "en"}).to_string();
                diesel::update(rightful_store::schema::request_subjects::table.find(&id))
                    .set(rightful_store::schema::request_subjects::details.eq(details))
                    .execute(c)?;
                Ok(())
            })
            .unwrap();
    }
    app.to_review(&id);
    rightful_engine::intake::decide(
        &app.engine,
        &id,
        rightful_engine::intake::Decision::Approve,
        "dpo:test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    rightful_engine::execution::drain(&app.engine, "w")
        .await
        .unwrap();
    assert_eq!(status_of(&app, &id).await, "completed");
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, id);
    let z = zip::ZipArchive::new(std::io::Cursor::new(received[0].1.clone())).unwrap();
    assert!(
        z.file_names()
            .any(|f| f.is_ok_and(|f| f == "manifest.json"))
    );
    let ex = {
        let id = id.clone();
        app.engine
            .store
            .with_conn(move |c| rightful_store::models::job::get(c, &id))
            .unwrap()
            .unwrap()
    };
    let outcome: serde_json::Value = serde_json::from_str(ex.outcome.as_deref().unwrap()).unwrap();
    assert_eq!(outcome["transmission"]["status"], "delivered");
}
