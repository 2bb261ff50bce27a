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
