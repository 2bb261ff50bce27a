//! Issue 14: side effects at most once. The completion notice is an outbox row written in the
//! transaction that completes the request and mailed after the commit with a deterministic
//! Message-ID: a `finalize` run again (a crash between the mail and the journal) sends no second
//! notice, and a failed send is retried, not only logged.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::call;
use crate::documents::verified;
use crate::requests::dpo_bearer;
use actix_web::test as atest;
use diesel::prelude::*;
use rightful_tests::{DemoSite, TestApp};

/// Subject 60 of the demo site: a customer, on both newsletters, a blog commenter.
const CUSTOMER: &str = "user60@example.test";

fn demo_app(
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> Option<(TestApp, DemoSite)> {
    let site = DemoSite::new(100)?;
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        adjust(s);
    })
    .unwrap();
    Some((app, site))
}

/// The completion notices of request `id` in the outbox (by their Message-ID header).
fn completion_mails(app: &TestApp, id: &str) -> Vec<String> {
    let needle = format!("<rightful.{id}.completed@");
    app.outbox()
        .into_iter()
        .filter(|m| m.contains(&needle))
        .collect()
}

/// The audit entries `action` about request `id`'s completion notice.
fn audit_count(app: &TestApp, id: &str, action: &str) -> usize {
    app.trail()
        .iter()
        .filter(|e| {
            e.content.target == id
                && e.content.action == action
                && e.content.details["notice"] == "completed"
        })
        .count()
}

fn outbox_rows(app: &TestApp, id: &str) -> Vec<rightful_store::models::outbox::Mail> {
    let id = id.to_owned();
    app.engine
        .store
        .with_conn(move |c| rightful_store::models::outbox::for_request(c, &id))
        .unwrap()
}

/// An approved erasure of the demo customer, carried out to completion.
async fn completed_erasure(app: &TestApp) -> String {
    let svc = service!(app);
    let bearer = dpo_bearer(app, &svc).await;
    let (id, _) = verified(
        app,
        &svc,
        serde_json::json!({"type": "erasure", "email": CUSTOMER}),
    )
    .await;
    let (status, r) = call(
        &svc,
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/decision"))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    rightful_engine::execution::drain(&app.engine, "w")
        .await
        .unwrap();
    id
}

// Issue 14: "the completion notice can go out twice (seen: two completion mails after a kill
// during `finalize`)". The finalize step is run again after it completed the request, as after a
// crash between the mail and the journal: still one completion mail.
#[actix_web::test]
async fn issue14_finalize_run_twice_for_one_request_sends_one_completion_mail() {
    let Some((app, _site)) = demo_app(|_| {}) else {
        return;
    };
    let id = completed_erasure(&app).await;
    assert_eq!(completion_mails(&app, &id).len(), 1);
    // The worker "died" after finalize's effects and before its step was journalled: the step
    // is running under a lease that has run out, so a worker takes it over and runs it again.
    {
        use rightful_store::schema::execution_jobs as j;
        let (id, past) = (
            id.clone(),
            chrono::Utc::now().naive_utc() - chrono::Duration::seconds(60),
        );
        let n = app
            .engine
            .store
            .with_conn(move |c| {
                Ok(diesel::update(
                    j::table
                        .filter(j::request_id.eq(&id))
                        .filter(j::step.eq("finalize")),
                )
                .set((j::status.eq("running"), j::lease_until.eq(Some(past))))
                .execute(c)?)
            })
            .unwrap();
        assert_eq!(n, 1);
    }
    let ran = rightful_engine::execution::drain(&app.engine, "w2")
        .await
        .unwrap();
    assert_eq!(ran, 1, "the finalize step ran again");
    assert_eq!(
        completion_mails(&app, &id).len(),
        1,
        "a finalize run again sent a second completion notice"
    );
    assert_eq!(audit_count(&app, &id, "notice.sent"), 1);
    // One outbox row, sent, its address and text gone (docs/SECURITY.md).
    let rows = outbox_rows(&app, &id);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "sent");
    assert!(rows[0].recipient.is_empty() && rows[0].body.is_empty() && rows[0].subject.is_empty());
    assert!(rows[0].sent_at.is_some());
}

// Issue 14: "its failure is only logged". The mail transport fails when the request completes:
// the notice stays due, is retried, and goes out once, with the same Message-ID.
#[actix_web::test]
async fn issue14_a_completion_notice_that_fails_is_retried_and_sent_once() {
    let Some((app, _site)) = demo_app(|s| s.execution.retry_secs = 0) else {
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
    let (status, r) = call(
        &svc,
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/decision"))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    // The outbox directory becomes a file: the file transport cannot write.
    let dir = app.engine.settings.storage.data_dir.join("outbox");
    let kept = app.engine.settings.storage.data_dir.join("outbox.kept");
    std::fs::rename(&dir, &kept).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    rightful_engine::execution::drain(&app.engine, "w")
        .await
        .unwrap();
    let rows = outbox_rows(&app, &id);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].attempts),
        ("pending", 1),
        "the failed notice stays due"
    );
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some("the mail transport refused or failed")
    );
    assert!(!rows[0].last_error.as_deref().unwrap().contains(CUSTOMER));
    assert_eq!(audit_count(&app, &id, "notice.sent"), 0);
    // The transport is back: the next delivery sends it, once.
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&kept, &dir).unwrap();
    let sent = rightful_engine::outbox::deliver_due(&app.engine, None)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(
        rightful_engine::outbox::deliver_due(&app.engine, None)
            .await
            .unwrap(),
        0
    );
    let mails = completion_mails(&app, &id);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains(CUSTOMER));
    assert_eq!(audit_count(&app, &id, "notice.sent"), 1);
    let rows = outbox_rows(&app, &id);
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
}
