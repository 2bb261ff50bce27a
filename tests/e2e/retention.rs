//! Retention sweeps over the demo site's three real stores (F1).
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use rightful_engine::retention::{Options, StoreSweep, run};
use rightful_tests::{DemoSite, TestApp};
use std::collections::BTreeMap;

fn counts(sweeps: &[StoreSweep]) -> BTreeMap<String, (u64, u64)> {
    sweeps
        .iter()
        .flat_map(|s| {
            s.outcome.as_ref().unwrap().iter().map(move |t| {
                (
                    format!("{}.{}", s.store, t.table),
                    (t.rows + t.children.iter().map(|c| c.1).sum::<u64>(), t.kept),
                )
            })
        })
        .collect()
}

#[actix_web::test]
async fn f1_a_dry_run_predicts_the_sweep_exactly_a_second_run_purges_nothing_and_pending_requests_keep_their_rows()
 {
    let Some(site) = DemoSite::new(300) else {
        return;
    };
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    // Subject 25 unsubscribed from the commercial newsletter years ago: its row is past its
    // period, but a pending request of theirs needs it.
    let pending = rightful_engine::intake::submit(
        &app.engine,
        rightful_tests::submission("access", "user25@example.test"),
        "web",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // Customer 60's orders ended in 2015: past their ten years, but a pending request of theirs
    // needs them; they are held through the order's link to the customer.
    let customer = rightful_engine::intake::submit(
        &app.engine,
        rightful_tests::submission("access", "user60@example.test"),
        "web",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let now = chrono::Utc::now();
    let dry = run(
        &app.engine,
        &Options {
            dry_run: true,
            batch: 50,
            ..Default::default()
        },
        now,
        &|_, _| {},
    )
    .await
    .unwrap();
    let predicted = counts(&dry);
    assert!(
        predicted["logs.access_log"].0 > 0
            && predicted["shop.orders"].0 > 0
            && predicted["cms.inquiries"].0 > 0,
        "{predicted:?}"
    );
    assert_eq!(
        predicted["cms.commercial_newsletter"].1, 1,
        "the pending request's row is kept and counted"
    );
    assert_eq!(
        predicted["shop.orders"].1, 3,
        "the customer's three orders are kept"
    );
    assert!(
        predicted["shop.customers"].0 > 0,
        "customers whose every order is past its period go after them: {predicted:?}"
    );
    let real = run(
        &app.engine,
        &Options {
            batch: 50,
            ..Default::default()
        },
        now,
        &|_, _| {},
    )
    .await
    .unwrap();
    // The rows past their period, table by table, with the child rows that go with them.
    assert_eq!(
        counts(&real),
        predicted,
        "a dry run predicts the real run exactly"
    );
    let children: u64 = real
        .iter()
        .flat_map(|s| {
            s.outcome
                .as_ref()
                .unwrap()
                .iter()
                .flat_map(|t| t.children.iter().map(|c| c.1))
        })
        .sum();
    assert!(
        children > 0,
        "order lines, invoices, deliveries and consent records go with their parents"
    );
    let longest = real
        .iter()
        .flat_map(|s| s.outcome.as_ref().unwrap().iter().map(|t| t.batches))
        .max()
        .unwrap();
    assert!(longest > 1, "deleted in several bounded batches");
    let again = run(
        &app.engine,
        &Options {
            batch: 50,
            ..Default::default()
        },
        now,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(
        counts(&again).values().all(|(rows, _)| *rows == 0),
        "{:?}",
        counts(&again)
    );
    // The pending request's subject is still there; each run is in the audit trail per store,
    // with counts and cut-offs and no personal data.
    let mut ids = rightful_connectors::Identities::new();
    ids.insert("email".into(), ["user25@example.test".to_owned()].into());
    let cms = app.engine.connector("cms").unwrap();
    assert!(
        cms.discover(&ids)
            .unwrap()
            .hits
            .iter()
            .any(|h| h.table == "commercial_newsletter")
    );
    let mut held = rightful_connectors::Identities::new();
    held.insert("email".into(), ["user60@example.test".to_owned()].into());
    let found = app
        .engine
        .connector("shop")
        .unwrap()
        .discover(&held)
        .unwrap();
    assert!(
        ["customers", "orders"]
            .iter()
            .all(|t| found.hits.iter().any(|h| h.table == *t)),
        "the held customer and their orders stay"
    );
    let trail = app.trail();
    let swept: Vec<_> = trail
        .iter()
        .filter(|e| e.content.action == "retention.swept")
        .collect();
    assert_eq!(swept.len(), 6, "two real runs × three stores");
    assert!(
        trail
            .iter()
            .filter(|e| e.content.action == "retention.dry_run")
            .count()
            == 3
    );
    assert!(swept[0].content.details["tables"][0]["cutoffs"].is_array());
    assert!(
        !format!("{trail:?}").contains("user25"),
        "no personal data in the trail"
    );
    // Art. 19: the processors of the purposes purged were told (manual tasks here).
    assert!(
        trail
            .iter()
            .any(|e| e.content.action == "processor.notified"
                && e.content.target.starts_with("retention:"))
    );
    drop((pending, customer));
}

#[actix_web::test]
async fn f1_a_store_that_is_down_is_reported_and_the_others_are_swept() {
    let Some(site) = DemoSite::new(100) else {
        return;
    };
    let mut urls = site.urls.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    urls.insert(
        "cms".into(),
        format!("mysql://root@127.0.0.1:{port}/nowhere"),
    );
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    let sweeps = run(
        &app.engine,
        &Options::default(),
        chrono::Utc::now(),
        &|_, _| {},
    )
    .await
    .unwrap();
    let by: BTreeMap<&str, &StoreSweep> = sweeps.iter().map(|s| (s.store.as_str(), s)).collect();
    let err = by["cms"].outcome.as_ref().unwrap_err();
    assert!(err.contains("cms") && err.contains("unreachable"), "{err}");
    assert!(
        by["shop"]
            .outcome
            .as_ref()
            .unwrap()
            .iter()
            .any(|t| t.rows > 0)
    );
    assert!(
        by["logs"]
            .outcome
            .as_ref()
            .unwrap()
            .iter()
            .any(|t| t.rows > 0)
    );
    assert!(
        app.trail()
            .iter()
            .any(|e| e.content.action == "retention.swept"
                && e.content.target == "cms"
                && e.content.details["error"].is_string())
    );
}

#[actix_web::test]
async fn options_naming_an_unknown_purpose_or_store_are_refused() {
    let app = TestApp::new(false).unwrap();
    for opts in [
        Options {
            purpose: Some("nope".into()),
            ..Default::default()
        },
        Options {
            store: Some("nowhere".into()),
            ..Default::default()
        },
    ] {
        assert!(
            run(&app.engine, &opts, chrono::Utc::now(), &|_, _| {})
                .await
                .is_err()
        );
    }
}

#[actix_web::test]
async fn f1_a_legal_hold_keeps_a_subjects_expired_records_until_it_is_released() {
    use actix_web::test as atest;
    let Some(site) = DemoSite::new(100) else {
        return;
    };
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    let svc = service!(app);
    let bearer = crate::requests::dpo_bearer(&app, &svc).await;
    let hold = |body: serde_json::Value| {
        atest::TestRequest::post()
            .uri("/v1/holds")
            .insert_header(("Authorization", bearer.clone()))
            .set_json(body)
    };
    assert_eq!(
        crate::call(
            &svc,
            hold(serde_json::json!({"identity": "shoe_size", "value": "44", "reason": "x"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(crate::call(&svc, hold(serde_json::json!({"identity": "email", "value": "user40@example.test", "reason": ""}))).await.0, 400);
    // Subject 40's blog comment was published years ago: past its period.
    let (status, placed) = crate::call(&svc, hold(serde_json::json!({"identity": "email", "value": "User40@example.test", "reason": "Claim 2026-17 before the commercial court"}))).await;
    assert_eq!(status, 201);
    let dry = |app: &TestApp| {
        let engine = app.engine.clone();
        async move {
            counts(
                &run(
                    &engine,
                    &Options {
                        dry_run: true,
                        ..Default::default()
                    },
                    chrono::Utc::now(),
                    &|_, _| {},
                )
                .await
                .unwrap(),
            )
        }
    };
    assert_eq!(dry(&app).await["cms.blog_comments"].1, 1, "held");
    let (_, list) = crate::call(
        &svc,
        atest::TestRequest::get()
            .uri("/v1/holds")
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    assert_eq!(list["holds"][0]["value"], "user40@example.test");
    let id = placed["id"].as_str().unwrap();
    let release = atest::TestRequest::delete()
        .uri(&format!("/v1/holds/{id}"))
        .insert_header(("Authorization", bearer.clone()));
    assert_eq!(crate::call(&svc, release).await.0, 204);
    assert_eq!(dry(&app).await["cms.blog_comments"].1, 0, "released");
    let again = atest::TestRequest::delete()
        .uri(&format!("/v1/holds/{id}"))
        .insert_header(("Authorization", bearer.clone()));
    assert_eq!(crate::call(&svc, again).await.0, 404);
    let actions: Vec<String> = app
        .trail()
        .into_iter()
        .map(|e| e.content.action)
        .filter(|a| a.starts_with("hold."))
        .collect();
    assert_eq!(actions, ["hold.placed", "hold.released"]);
}

/// The ids of `table`'s rows at or above `from` that also meet `and` (SQL, or empty), in one of
/// the demo site's stores.
fn ids_where(url: &str, table: &str, from: i64, and: &str) -> Vec<i64> {
    use diesel::r2d2::ManageConnection;
    use rightful_connectors::sql::{Dialect, Manager};
    let dialect = Dialect::of_url(url);
    let mut conn = Manager { url: url.into() }.connect().unwrap();
    let and = and.replace("TRUE", dialect.true_literal());
    let sql = format!(
        "SELECT {} AS doc FROM {table} WHERE id >= {from} {and} ORDER BY id",
        dialect.json_object(&[("id".into(), "id".into())])
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

fn ids_from(url: &str, table: &str, from: i64) -> Vec<i64> {
    ids_where(url, table, from, "")
}

/// The ids of the archived orders at or above `from`.
fn archived_orders(url: &str, from: i64) -> Vec<i64> {
    ids_where(url, "orders", from, "AND archived = TRUE")
}

/// F1: for every period of the reference policy, a record whose period ran out yesterday goes
/// and a record whose last day is today stays — seeded on the real stores and swept by the
/// engine on 2026-03-01 (the leap day of 2024 and the month clamping of 2016-02-29 + 10 years
/// included). Orders move to the intermediate archive two years after delivery. The chat
/// purpose has no table on the site: its records are at the processor (Social Intents), which
/// the sweep notifies.
#[actix_web::test]
async fn f1_records_just_inside_and_just_outside_every_period_of_the_reference_policy() {
    let Some(site) = DemoSite::new(20) else {
        return;
    };
    let urls = site.urls.clone();
    let exec = |store: &str, sql: &str| {
        site.sites
            .iter()
            .find(|s| s.url == site.urls[store])
            .unwrap()
            .execute(sql)
            .unwrap();
    };
    const OUT: &str = "23:59:59"; // on the last expired day
    // Shop (PostgreSQL): 10 years from the end of the contract (delivery), archive after 2.
    exec(
        "shop",
        "INSERT INTO customers (id, email, first_name, last_name, phone, address, created_at) VALUES
           (900001, 'edge-a@boundary.test', 'A', 'Edge', '0', 'x', '2005-01-01'),
           (900002, 'edge-b@boundary.test', 'B', 'Edge', '0', 'x', '2005-01-01'),
           (900003, 'edge-customer@boundary.test', 'C', 'Edge', '0', 'x', '2005-01-01'),
           (900004, 'edge-d@boundary.test', 'D', 'Edge', '0', 'x', '2016-02-29 23:59:59'),
           (900005, 'edge-e@boundary.test', 'E', 'Edge', '0', 'x', '2016-03-01 00:00:00'),
           (900006, 'edge-f@boundary.test', 'F', 'Edge', '0', 'x', '2016-02-28 12:00:00'),
           (900007, 'edge-former@boundary.test', 'G', 'Edge', '0', 'x', '2005-01-01');
         INSERT INTO orders (id, customer_id, ordered_at, delivered_at, status, total_cents) VALUES
           (9000001, 900001, '2016-02-01', '2016-02-29 23:59:59', 'delivered', 100),
           (9000002, 900001, '2016-02-01', '2016-03-01 00:00:00', 'delivered', 100),
           (9000003, 900002, '2024-02-01', '2024-02-29 23:59:59', 'delivered', 100),
           (9000004, 900002, '2024-02-01', '2024-03-01 00:00:00', 'delivered', 100),
           (9000005, 900002, '2010-01-01', NULL, 'paid', 100),
           (9000006, 900003, '2025-06-01', '2025-06-05', 'delivered', 100),
           (9000007, 900004, '2016-02-20', '2016-02-29 10:00:00', 'delivered', 100),
           (9000008, 900007, '2014-12-20', '2015-01-01 10:00:00', 'delivered', 100);
         INSERT INTO order_lines (id, order_id, product, quantity, unit_price_cents) VALUES
           (9000001, 9000001, 'Lens', 1, 100), (9000002, 9000002, 'Lens', 1, 100),
           (9000008, 9000008, 'Lens', 1, 100);
         INSERT INTO invoices (id, order_id, number, issued_at, amount_cents, billing_name, billing_address) VALUES
           (9000001, 9000001, 'EDGE-1', '2016-02-01', 100, 'A Edge', 'x'),
           (9000002, 9000002, 'EDGE-2', '2016-02-01', 100, 'A Edge', 'x');
         INSERT INTO deliveries (id, order_id, carrier, tracking_number, address, shipped_at) VALUES
           (9000001, 9000001, 'Post', 'T1', 'x', '2016-02-02'), (9000002, 9000002, 'Post', 'T2', 'x', '2016-02-02');",
    );
    // CMS (MariaDB): until unsubscription, 5 years from publication, 3 years from the request,
    // after-sales 5 years for a customer and 3 otherwise, until the end of the role.
    exec(
        "cms",
        &format!(
            "INSERT INTO technical_newsletter (id, email, subscribed_at, unsubscribed_at) VALUES
               (900001, 'edge-t1@boundary.test', '2001-01-01', '2026-02-28 {OUT}'),
               (900002, 'edge-t2@boundary.test', '2001-01-01', '2026-03-01 00:00:00'),
               (900003, 'edge-t3@boundary.test', '2001-01-01', NULL);
             INSERT INTO commercial_newsletter (id, email, subscribed_at, unsubscribed_at) VALUES
               (900001, 'edge-c1@boundary.test', '2001-01-01', '2026-02-28 {OUT}'),
               (900002, 'edge-c2@boundary.test', '2001-01-01', '2026-03-01 00:00:00'),
               (900003, 'edge-c3@boundary.test', '2001-01-01', NULL);
             INSERT INTO consent_records (id, subscription_id, consented_at, consent_text_version) VALUES
               (900001, 900001, '2001-01-01', 'v1'), (900002, 900002, '2001-01-01', 'v1');
             INSERT INTO blog_comments (id, post_slug, author_name, author_email, website, body, published_at) VALUES
               (900001, 'p', 'E', 'edge-b1@boundary.test', '', 'x', '2021-02-28 {OUT}'),
               (900002, 'p', 'E', 'edge-b2@boundary.test', '', 'x', '2021-03-01 00:00:00');
             INSERT INTO inquiries (id, nature, last_name, first_name, email, message, created_at) VALUES
               (900001, 'quote', 'E', 'E', 'edge-i1@boundary.test', 'x', '2023-02-28 {OUT}'),
               (900002, 'quote', 'E', 'E', 'edge-i2@boundary.test', 'x', '2023-03-01 00:00:00');
             INSERT INTO support_tickets (id, request_type, last_name, first_name, email, message, camera_serial_number, created_at) VALUES
               (900001, 'repair', 'E', 'E', 'edge-customer@boundary.test', 'x', 'EDGE-S1', '2021-02-28 {OUT}'),
               (900002, 'repair', 'E', 'E', 'edge-customer@boundary.test', 'x', 'EDGE-S2', '2021-03-01 00:00:00'),
               (900003, 'repair', 'E', 'E', 'edge-customer@boundary.test', 'x', 'EDGE-S3', '2023-02-28 {OUT}'),
               (900004, 'repair', 'E', 'E', 'edge-stranger@boundary.test', 'x', 'EDGE-S4', '2023-02-28 {OUT}'),
               (900005, 'repair', 'E', 'E', 'edge-stranger@boundary.test', 'x', 'EDGE-S5', '2023-03-01 00:00:00'),
               (900006, 'repair', 'E', 'E', 'edge-former@boundary.test', 'x', 'EDGE-S6', '2022-06-01 00:00:00');
             INSERT INTO site_admins (id, last_name, first_name, email, role_ended_at) VALUES
               (900001, 'E', 'E', 'edge-a1@boundary.test', '2026-02-28 {OUT}'),
               (900002, 'E', 'E', 'edge-a2@boundary.test', '2026-03-01 08:00:00'),
               (900003, 'E', 'E', 'edge-a3@boundary.test', NULL);"
        ),
    );
    // Logs (SQLite): 12 months from collection.
    exec(
        "logs",
        &format!(
            "INSERT INTO access_log (id, ip_address, ts, method, path, user_agent, status) VALUES
               (900000001, '203.0.113.1', '2025-02-28 {OUT}', 'GET', '/', 'x', 200),
               (900000002, '203.0.113.2', '2025-03-01 00:00:00', 'GET', '/', 'x', 200);"
        ),
    );
    let app = TestApp::with(true, move |s| s.stores.urls = urls).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let sweep = |dry_run: bool| {
        let engine = app.engine.clone();
        async move {
            let opts = Options {
                dry_run,
                batch: 7,
                ..Default::default()
            };
            run(&engine, &opts, now, &|_, _| {}).await.unwrap()
        }
    };
    let archived = |s: &[StoreSweep]| -> u64 {
        s.iter()
            .flat_map(|s| s.outcome.as_ref().unwrap().iter().map(|t| t.archived))
            .sum()
    };
    let dry = sweep(true).await;
    assert_eq!(
        archived_orders(&site.urls["shop"], 9_000_000),
        Vec::<i64>::new(),
        "a dry run archives nothing"
    );
    let real = sweep(false).await;
    assert_eq!(
        counts(&real),
        counts(&dry),
        "the dry run predicted the sweep"
    );
    assert_eq!(archived(&real), archived(&dry));
    let shop = &site.urls["shop"];
    let cms = &site.urls["cms"];
    assert_eq!(
        ids_from(shop, "orders", 9_000_000),
        [9000002, 9000003, 9000004, 9000005, 9000006]
    );
    for child in ["order_lines", "invoices", "deliveries"] {
        assert_eq!(
            ids_from(shop, child, 9_000_000),
            [9000002],
            "{child} go with their order"
        );
    }
    assert_eq!(
        archived_orders(shop, 9_000_000),
        [9000002, 9000003],
        "two years after delivery, orders move to the intermediate archive"
    );
    // A customer goes once no order of theirs is left and they were collected more than ten
    // years ago (the contract cannot have ended later than its last order).
    assert_eq!(
        ids_from(shop, "customers", 900_000),
        [900001, 900002, 900003, 900005]
    );
    assert_eq!(
        ids_from(cms, "technical_newsletter", 900_000),
        [900002, 900003]
    );
    assert_eq!(
        ids_from(cms, "commercial_newsletter", 900_000),
        [900002, 900003]
    );
    assert_eq!(ids_from(cms, "consent_records", 900_000), [900002]);
    assert_eq!(ids_from(cms, "blog_comments", 900_000), [900002]);
    assert_eq!(ids_from(cms, "inquiries", 900_000), [900002]);
    assert_eq!(
        ids_from(cms, "support_tickets", 900_000),
        [900002, 900003, 900005],
        "a customer's tickets are kept 5 years, a stranger's 3, and a former customer whose \
         every order and record goes in this sweep is a customer no more"
    );
    assert_eq!(ids_from(cms, "site_admins", 900_000), [900002, 900003]);
    assert_eq!(
        ids_from(&site.urls["logs"], "access_log", 900_000_000),
        [900000002]
    );
    // A second run purges and archives nothing more; the archive is in the audit trail.
    let again = sweep(false).await;
    assert!(
        counts(&again).values().all(|(rows, _)| *rows == 0),
        "{:?}",
        counts(&again)
    );
    assert_eq!(archived(&again), 0);
    let trail = app.trail();
    let orders = trail
        .iter()
        .filter(|e| e.content.action == "retention.swept" && e.content.target.contains("shop"))
        .flat_map(|e| e.content.details["tables"].as_array().unwrap().clone())
        .find(|t| t["table"] == "orders")
        .unwrap();
    assert!(orders["archived"].as_u64().unwrap() >= 2);
    assert_eq!(orders["archived_before_or_on"], "2024-02-29");
}
