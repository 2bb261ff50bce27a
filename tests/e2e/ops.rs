//! Issue 13 item 7: operations over a real port — liveness and readiness (each store's status,
//! 503 when one is down), and `/metrics` scraped and parsed in the Prometheus text format.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use rightful_engine::auth::{Role, add_staff};
use rightful_tests::{DemoSite, TestApp};
use std::collections::BTreeMap;

const SCRAPER: &str = "a-scraper-token-of-forty-characters-0123";

/// One sample: the metric's name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text exposition format strictly: every line is a `# HELP name text`, a
/// `# TYPE name counter|gauge|histogram`, or `name{label="value",…} number`; a sample's family
/// was declared by a TYPE line before it. Panics on anything else.
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut helps = BTreeMap::new();
    let mut samples = Vec::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(name_ok(name) && !help.is_empty(), "{line}");
            assert!(
                helps.insert(name.to_owned(), help.to_owned()).is_none(),
                "two HELP: {line}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "two TYPE: {line}"
            );
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line: {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let mut labels = BTreeMap::new();
                for pair in inner.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    let v = v.strip_suffix('"').unwrap_or(v);
                    assert!(name_ok(k) && !v.contains('"'), "{line}");
                    labels.insert(k.to_owned(), v.to_owned());
                }
                (name.to_owned(), labels)
            }
        };
        assert!(name_ok(&name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&name)
            .to_owned();
        assert!(types.contains_key(&family), "no TYPE before {line}");
        assert!(helps.contains_key(&family), "no HELP before {line}");
        samples.push((name, labels, value));
    }
    (types, samples)
}

/// The value of the one sample of `name` with exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let found: Vec<_> = samples
        .iter()
        .filter(|(n, l, _)| n == name && *l == want)
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].2
}

async fn bearer(http: &reqwest::Client, base: &str, user: &str) -> String {
    let login: serde_json::Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&serde_json::json!({"username": user, "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("Bearer {}", login["access_token"].as_str().unwrap())
}

// Issue 13 item 7: `/metrics` is scraped over a real port after a few requests and parsed line by
// line; the counts are the database's and the engine's, and only the scraper's token or an
// auditor/DPO token may read them.
#[tokio::test]
async fn metrics_are_scraped_over_a_real_port_and_parsed_in_the_prometheus_format() {
    let no_stores = std::env::temp_dir().join(format!("rightful-no-stores-{}", std::process::id()));
    std::fs::create_dir_all(&no_stores).unwrap();
    let dir = no_stores.clone();
    let app = TestApp::with(false, move |s| {
        s.stores.dir = dir;
        s.metrics.token = SCRAPER.into();
    })
    .unwrap();
    for (user, role) in [("dpo1", Role::Dpo), ("site1", Role::Site)] {
        add_staff(&app.engine, user, role, "a long enough password").unwrap();
    }
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (kind, email) in [
        ("access", "ann@example.test"),
        ("access", "bob@example.test"),
        ("erasure", "cat@example.test"),
    ] {
        let r = http
            .post(format!("{base}/v1/requests"))
            .json(&serde_json::json!({"type": kind, "email": email, "first_name": "Ada", "last_name": "Lovelace"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{kind}");
        let body: serde_json::Value = r.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // One access request is approved and carried out (no store: its `finalize` step runs); the
    // erasure is made overdue.
    app.to_review(&ids[0]);
    let dpo = bearer(&http, &base, "dpo1").await;
    let approved = http
        .post(format!("{base}/v1/requests/{}/decision", ids[0]))
        .header("Authorization", &dpo)
        .json(&serde_json::json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    assert_eq!(
        rightful_engine::execution::drain(&app.engine, "w")
            .await
            .unwrap(),
        1
    );
    let overdue = ids[2].clone();
    app.engine
        .store
        .with_conn(move |c| {
            use diesel::prelude::*;
            use rightful_store::schema::requests::dsl as r;
            diesel::update(r::requests.filter(r::id.eq(overdue)))
                .set(r::due_on.eq(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()))
                .execute(c)?;
            Ok(())
        })
        .unwrap();

    // Who may scrape: nobody anonymous, not the site's role, not a wrong token.
    let scrape = |auth: Option<String>| {
        let mut r = http.get(format!("{base}/metrics"));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    let site = bearer(&http, &base, "site1").await;
    assert_eq!(scrape(Some(site)).await.unwrap().status(), 403);
    let wrong = format!("Bearer {}", SCRAPER.replace('0', "1"));
    assert_eq!(scrape(Some(wrong)).await.unwrap().status(), 401);
    assert_eq!(scrape(Some(dpo.clone())).await.unwrap().status(), 200);

    let res = scrape(Some(format!("Bearer {SCRAPER}"))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    for secret in ["ann@", "bob@", "cat@", "Lovelace", ids[0].as_str(), SCRAPER] {
        assert!(!text.contains(secret), "{secret} in /metrics");
    }
    let (types, samples) = parse(&text);
    assert_eq!(types["rightful_requests"], "gauge");
    assert_eq!(types["rightful_step_duration_seconds"], "histogram");
    assert_eq!(types["rightful_sweep_rows_total"], "counter");
    assert_eq!(types["rightful_drp_callback_failures_total"], "counter");
    assert_eq!(types["rightful_mail_failures_total"], "counter");

    let requests = |status: &str, kind: &str| {
        value(
            &samples,
            "rightful_requests",
            &[("status", status), ("type", kind)],
        )
    };
    assert_eq!(requests("identity_pending", "access"), 1.0);
    assert_eq!(requests("identity_pending", "erasure"), 1.0);
    assert_eq!(requests("completed", "access"), 1.0);
    let total: f64 = samples
        .iter()
        .filter(|(n, _, _)| n == "rightful_requests")
        .map(|s| s.2)
        .sum();
    assert_eq!(total, 3.0);
    assert_eq!(value(&samples, "rightful_requests_overdue", &[]), 1.0);
    assert_eq!(value(&samples, "rightful_jobs", &[("status", "done")]), 1.0);
    assert_eq!(
        value(&samples, "rightful_jobs", &[("status", "pending")]),
        0.0
    );
    // The finalize step ran once, in this process; the other steps never did.
    let count = |step: &str| {
        value(
            &samples,
            "rightful_step_duration_seconds_count",
            &[("step", step)],
        )
    };
    assert_eq!(count("finalize"), 1.0);
    assert_eq!(count("discover"), 0.0);
    assert_eq!(
        value(
            &samples,
            "rightful_step_duration_seconds_bucket",
            &[("step", "finalize"), ("le", "+Inf")]
        ),
        1.0
    );
    assert!(
        value(
            &samples,
            "rightful_step_duration_seconds_sum",
            &[("step", "finalize")]
        ) > 0.0
    );
    // Buckets are cumulative.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| n == "rightful_step_duration_seconds_bucket" && l["step"] == "finalize")
        .map(|s| s.2)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(
        value(
            &samples,
            "rightful_sweep_rows_total",
            &[("outcome", "deleted")]
        ),
        0.0
    );
    assert_eq!(
        value(&samples, "rightful_drp_callback_failures_total", &[]),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "rightful_mail_failures_total",
            &[("kind", "notice")]
        ),
        0.0
    );
    let _ = std::fs::remove_dir_all(no_stores);
}

// Issue 13 item 7: readiness names each store's status; a store whose URL points at a closed port
// makes it 503 (with the error's class and code only), while liveness and `/health` stay 200.
#[tokio::test]
async fn ready_turns_503_when_a_store_is_down_and_names_it_without_driver_text() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::with(false, move |s| {
        s.stores.urls = BTreeMap::from([
            (
                "shop".to_owned(),
                format!("postgres://secret_user:secret_pw@127.0.0.1:{closed}/shop"),
            ),
            (
                "cms".to_owned(),
                format!("mysql://secret_user:secret_pw@127.0.0.1:{closed}/cms"),
            ),
            (
                "logs".to_owned(),
                "sqlite:///nonexistent-secret_dir/logs.sqlite3".to_owned(),
            ),
        ]);
    })
    .unwrap();
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let live = http
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let text = ready.text().await.unwrap();
    for leak in [
        "secret_user",
        "secret_pw",
        "secret_dir",
        "127.0.0.1",
        "onnection refused",
        "server running",
        &closed.to_string(),
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "ok");
    let stores: BTreeMap<String, serde_json::Value> = body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s.clone()))
        .collect();
    assert_eq!(stores.len(), 3, "{body}");
    for name in ["shop", "cms", "logs"] {
        assert_eq!(stores[name]["status"], "unreachable", "{body}");
        assert!(stores[name]["code"].as_str().is_some(), "{body}");
    }
    for name in ["shop", "cms"] {
        assert_eq!(stores[name]["class"], "transient", "{body}");
        assert_eq!(stores[name]["code"], "connect:refused", "{body}");
    }
}

// Issue 13 item 7: with every store of the demo site up (PostgreSQL, MariaDB, SQLite), readiness
// is 200 and each store is `ok`.
#[tokio::test]
async fn ready_is_200_when_the_engine_database_and_every_store_answer() {
    let Some(site) = DemoSite::new(2) else {
        return;
    };
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    let base = app.spawn().unwrap();
    let res = reqwest::get(format!("{base}/health/ready")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let names: Vec<&str> = body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|s| assert_eq!(s["status"], "ok", "{s}"))
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{body}");
    // A stranger asking many times at once costs one probe: the shop's PostgreSQL database sees
    // at most a connection or two more, not one per request.
    let shop = site.urls["shop"].clone();
    let sessions = || {
        let shop = shop.clone();
        async move {
            use diesel::prelude::*;
            let db = shop.rsplit('/').next().unwrap().to_owned();
            tokio::task::spawn_blocking(move || {
                let mut c = diesel::PgConnection::establish(&shop).unwrap();
                #[expect(
                    clippy::disallowed_methods,
                    reason = "a fixed statistics query; the database name is bound"
                )]
                let q = diesel::sql_query(
                    "SELECT sessions::bigint AS n FROM pg_stat_database WHERE datname = $1",
                )
                .bind::<diesel::sql_types::Text, _>(db);
                q.get_result::<Count>(&mut c).unwrap().n
            })
            .await
            .unwrap()
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let before = sessions().await;
    let asks = (0..30).map(|_| reqwest::get(format!("{base}/health/ready")));
    for res in futures_util::future::join_all(asks).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    let after = sessions().await;
    // `before` and `after` each open one session themselves, and the statistics lag a little:
    // without the shared probe this is one session per ask (30).
    assert!(
        after - before <= 8,
        "{} sessions for 30 asks",
        after - before
    );
    drop(site);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

// Issue 13 item 7: a message the mailer cannot write (the outbox is a file, not a directory) is
// counted in `rightful_mail_failures_total{kind="notice"}`, scraped over a real port.
#[tokio::test]
async fn a_mail_that_cannot_be_sent_is_counted_in_the_metrics() {
    let blocked = std::env::temp_dir().join(format!("rightful-outbox-file-{}", std::process::id()));
    std::fs::write(&blocked, b"not a directory").unwrap();
    let outbox = blocked.display().to_string();
    let app = TestApp::with(false, move |s| {
        s.mail.outbox_dir = outbox;
        s.metrics.token = SCRAPER.into();
    })
    .unwrap();
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let scrape = || async {
        let text = http
            .get(format!("{base}/metrics"))
            .header("Authorization", format!("Bearer {SCRAPER}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (_, samples) = parse(&text);
        value(
            &samples,
            "rightful_mail_failures_total",
            &[("kind", "notice")],
        )
    };
    assert_eq!(scrape().await, 0.0);
    let r = http
        .post(format!("{base}/v1/requests"))
        .json(&serde_json::json!({"type": "access", "email": "dan@example.test", "first_name": "Ada", "last_name": "Lovelace"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().as_u16() < 500, "{}", r.status());
    assert!(scrape().await >= 1.0);
    let _ = std::fs::remove_file(blocked);
}
