//! Issue 12 items 7 and 8, on the demo site's real stores: a store error that quotes personal
//! data reaches no log, job or audit entry (only its code and class do), a permanent one fails
//! the request at once; a legal hold whose lookup fails keeps the store unswept.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use rightful_connectors::StoreErrorClass;
use rightful_engine::retention::{Options, StoreSweep, run};
use rightful_tests::{DemoSite, TestApp};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything the process logs, at every level, from the first call on (one subscriber per
/// process: nextest runs each test in its own).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn captured_logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .init();
        logs
    })
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Subject 16 is on the technical newsletter only; subject 4 is on it too, and the column is
/// UNIQUE on MariaDB.
const SUBJECT: &str = "user16@example.test";
const COLLIDING: &str = "user4@example.test";

/// Issue 12 item 7: a rectification to an address another subscriber already has hits
/// MariaDB's unique index (`Duplicate entry 'user4@example.test' for key 'email'`). The request
/// fails after one attempt, for the DPO, with `mysql:1062` in the reason; the address is in no
/// log line, no job's `last_error`, no audit entry and no API answer.
#[tokio::test]
async fn issue12_item7_a_duplicate_key_on_mariadb_fails_the_request_at_once_and_its_value_is_nowhere()
 {
    let logs = captured_logs();
    let Some(site) = DemoSite::new(20) else {
        return;
    };
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    rightful_engine::auth::add_staff(
        &app.engine,
        "dpo1",
        rightful_engine::auth::Role::Dpo,
        "a long enough password",
    )
    .unwrap();
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, auth: Option<String>, body: serde_json::Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (
                status,
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    // The subject asks over HTTP, confirms the code from the outbox; the DPO approves.
    let (status, accepted) = post(
        "/v1/requests",
        None,
        serde_json::json!({"type": "rectification", "email": SUBJECT, "first_name": "Ada", "last_name": "Lovelace",
            "details": {"new_values": {"email": COLLIDING}}}),
    )
    .await;
    assert_eq!(status, 201, "{accepted}");
    let id = accepted["id"].as_str().unwrap().to_owned();
    let token = accepted["token"].as_str().unwrap().to_owned();
    let mail = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m.contains(&id) && m.contains("enter this code: "))
        .unwrap();
    let at = mail.find("enter this code: ").unwrap() + "enter this code: ".len();
    let (status, v) = post(
        &format!("/v1/requests/{id}/verify"),
        Some(format!("Request {token}")),
        serde_json::json!({"code": &mail[at..at + 6]}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, login) = post(
        "/v1/auth/token",
        None,
        serde_json::json!({"username": "dpo1", "password": "a long enough password"}),
    )
    .await;
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let (status, v) = post(
        &format!("/v1/requests/{id}/decision"),
        Some(bearer.clone()),
        serde_json::json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    // The workers run until nothing is due (a retried step would be due again at once:
    // retry_secs is not involved, a permanent error is not retried at all).
    rightful_engine::execution::drain(&app.engine, "w")
        .await
        .unwrap();

    // The request failed, for the DPO, after one attempt on the CMS.
    let answer: serde_json::Value = http
        .get(format!("{base}/v1/requests/{id}"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "failed", "{answer:#}");
    let journal = answer["execution"].as_array().unwrap();
    let cms = journal
        .iter()
        .find(|j| j["step"] == "apply" && j["store"] == "cms")
        .unwrap_or_else(|| panic!("{journal:#?}"));
    assert_eq!(
        (&cms["status"], &cms["attempts"]),
        (&"failed".into(), &1.into()),
        "{cms}"
    );
    let last_error = cms["last_error"].as_str().unwrap();
    assert!(
        last_error.contains("permanent mysql:1062") && last_error.contains("technical_newsletter"),
        "{last_error}"
    );
    // Nowhere the address: the API's execution journal, the job rows, the audit trail, the logs.
    let execution = serde_json::to_string(&answer["execution"]).unwrap();
    assert!(!execution.contains(COLLIDING), "{execution}");
    let id2 = id.clone();
    let jobs = app
        .engine
        .store
        .with_conn(move |c| rightful_store::models::job::for_request(c, &id2))
        .unwrap();
    for j in &jobs {
        let e = j.last_error.clone().unwrap_or_default();
        assert!(!e.contains(COLLIDING) && !e.contains(SUBJECT), "{e}");
    }
    let trail = app.trail();
    let ours: Vec<_> = trail.iter().filter(|e| e.content.target == id).collect();
    let failed: Vec<_> = ours
        .iter()
        .filter(|e| e.content.action == "execution.step_failed")
        .collect();
    assert_eq!(failed.len(), 1, "one failure, no retries");
    assert!(failed[0].content.reason.contains("mysql:1062"));
    assert!(
        !ours.iter().any(|e| e.content.action == "request.paused"),
        "a permanent error does not pause the request"
    );
    let failed_entry = ours
        .iter()
        .find(|e| e.content.action == "request.failed")
        .unwrap();
    assert!(failed_entry.content.reason.contains("mysql:1062"));
    for e in &trail {
        let text = serde_json::to_string(&e.content).unwrap();
        assert!(
            !text.contains(COLLIDING),
            "the audit trail holds the driver's text: {text}"
        );
    }
    let logged = logs.text();
    assert!(
        logged.contains(&id) && logged.contains("mysql:1062"),
        "the failure is logged with its code"
    );
    assert!(
        !logged.contains(COLLIDING),
        "the logs hold the driver's text"
    );
    assert!(
        !logged.contains("Duplicate entry"),
        "the logs hold the driver's text"
    );
    // Nothing changed in the CMS: the subject still has their address, and so has subject 4.
    let mut ids = rightful_connectors::Identities::new();
    ids.insert(
        "email".into(),
        [SUBJECT.to_owned(), COLLIDING.to_owned()].into(),
    );
    let store = app
        .engine
        .stores
        .iter()
        .find(|s| s.map.name == "cms")
        .unwrap();
    let c =
        rightful_connectors::Connector::open(store.map.clone(), &site.urls["cms"], b"k".to_vec())
            .unwrap();
    let found = c.discover(&ids).unwrap();
    assert_eq!(found.hit("technical_newsletter").unwrap().rows, 2);
}

/// The ids of the CMS's inquiries from `from` on.
fn inquiries_from(site: &DemoSite, from: i64) -> Vec<i64> {
    use diesel::r2d2::ManageConnection;
    use rightful_connectors::sql::{Dialect, Manager};
    let mut conn = Manager {
        url: site.urls["cms"].clone(),
    }
    .connect()
    .unwrap();
    let sql = format!(
        "SELECT {} AS doc FROM inquiries WHERE id >= {from} ORDER BY id",
        Dialect::Mysql.json_object(&[("id".into(), "id".into())])
    );
    conn.exec()
        .docs(&sql, &[])
        .unwrap()
        .iter()
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

async fn sweep_inquiries(app: &TestApp) -> BTreeMap<String, StoreSweep> {
    run(
        &app.engine,
        &Options {
            purpose: Some("inquiries".into()),
            ..Default::default()
        },
        chrono::Utc::now(),
        &|_, _| {},
    )
    .await
    .unwrap()
    .into_iter()
    .map(|s| (s.store.clone(), s))
    .collect()
}

async fn hold_customer(app: &TestApp) {
    rightful_engine::retention::place_hold(
        &app.engine,
        "customer_id",
        "950001",
        "Claim 2026-17 before the commercial court",
        "dpo:test",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

/// Issue 12 item 8: a hold on customer 950001 (held by customer id); their e-mail address is in
/// the shop only, and their inquiry of 2015 in the CMS is past its three years. When the shop
/// cannot be searched, the CMS is not swept (the inquiry might be the held customer's): the run
/// says `skipped: held set unavailable` with the code, in its report and the audit trail, and
/// the row is still there. Without the fault, the sweep runs and keeps the held inquiry only.
#[actix_web::test]
async fn issue12_item8_a_hold_whose_other_identities_cannot_be_looked_up_keeps_the_store_unswept() {
    let Some(site) = DemoSite::new(20) else {
        return;
    };
    let exec = |store: &str, sql: &str| {
        site.sites
            .iter()
            .find(|s| s.url == site.urls[store])
            .unwrap()
            .execute(sql)
            .unwrap();
    };
    exec(
        "shop",
        "INSERT INTO customers (id, email, first_name, last_name, phone, address, created_at) VALUES
           (950001, 'held-customer@boundary.test', 'H', 'Held', '0', 'x', '2015-01-01')",
    );
    exec(
        "cms",
        "INSERT INTO inquiries (id, nature, last_name, first_name, email, company_name, phone, country, message, created_at) VALUES
           (950001, 'quote', 'Held', 'H', 'held-customer@boundary.test', NULL, NULL, NULL, 'm', '2015-01-01 10:00:00'),
           (950002, 'quote', 'Free', 'F', 'free-inquirer@boundary.test', NULL, NULL, NULL, 'm', '2015-01-01 10:00:00')",
    );

    // The shop is down (its URL points at a closed port).
    let mut urls = site.urls.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    urls.insert(
        "shop".into(),
        format!("postgres://postgres@127.0.0.1:{port}/nowhere"),
    );
    let faulty = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    hold_customer(&faulty).await;
    let by = sweep_inquiries(&faulty).await;
    let cms = &by["cms"];
    let err = cms.outcome.as_ref().unwrap_err();
    assert!(
        err.starts_with("skipped: held set unavailable")
            && err.contains("store `shop`: transient connect:refused"),
        "{err}"
    );
    assert_eq!(
        cms.held_set_unavailable,
        [(
            "shop".to_owned(),
            StoreErrorClass::Transient,
            "connect:refused".to_owned()
        )]
    );
    assert_eq!(
        inquiries_from(&site, 950001),
        [950001, 950002],
        "the CMS was not swept"
    );
    // The logs store maps only IP addresses, which the shop cannot add to: it is swept.
    assert!(by["logs"].outcome.is_ok(), "{:?}", by["logs"].outcome);
    let entry = faulty
        .trail()
        .into_iter()
        .find(|e| e.content.action == "retention.swept" && e.content.target == "cms")
        .unwrap();
    assert_eq!(entry.content.details["skipped"], "held set unavailable");
    assert_eq!(entry.content.details["held_set"][0]["store"], "shop");
    assert_eq!(entry.content.details["held_set"][0]["class"], "transient");
    assert_eq!(
        entry.content.details["held_set"][0]["code"],
        "connect:refused"
    );

    // Without the fault: the sweep runs, the held customer's inquiry stays, the other goes.
    let urls = site.urls.clone();
    let healthy = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    hold_customer(&healthy).await;
    let by = sweep_inquiries(&healthy).await;
    let tables = by["cms"].outcome.as_ref().unwrap();
    let inquiries = tables.iter().find(|t| t.table == "inquiries").unwrap();
    assert!(inquiries.rows > 0 && inquiries.kept == 1, "{inquiries:?}");
    assert_eq!(
        inquiries_from(&site, 950001),
        [950001],
        "swept, the held row kept"
    );
}
