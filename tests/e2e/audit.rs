//! The audit trail's signed heads over a real port (issue 12 item 10): exported to auditors,
//! and the verification that catches a trail rewritten by a writer of the engine database.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use rightful_store::Backend;
use rightful_tests::TestApp;

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

/// Raw SQL with the engine database's write access: entry `seq`'s details changed, every later
/// hash recomputed with the chain's own (unkeyed) function, `audit_head` moved, and the anchors
/// in the database deleted. The triggers that refuse it are switched off first, as the owner of
/// the tables can.
fn rewrite_as_a_database_writer(app: &TestApp, seq: i64) {
    let mut entries = app.trail();
    let mut script = match app.engine.store.backend() {
        Backend::Postgres => String::from(
            "ALTER TABLE audit_entries DISABLE TRIGGER USER; ALTER TABLE audit_anchors DISABLE TRIGGER USER;",
        ),
        Backend::Sqlite => String::from(
            "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_anchors_no_delete;",
        ),
    };
    let mut prev = String::new();
    for e in &mut entries {
        if e.seq < seq {
            prev = e.hash.clone();
            continue;
        }
        if e.seq == seq {
            e.content.reason = "forged".into();
        }
        e.prev_hash = prev.clone();
        e.hash = rightful_core::audit::entry_hash(&e.prev_hash, &e.content);
        prev = e.hash.clone();
        script.push_str(&format!(
            "UPDATE audit_entries SET reason = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
            e.content.reason, e.prev_hash, e.hash, e.seq
        ));
    }
    let last = entries.last().unwrap();
    script.push_str(&format!(
        "UPDATE audit_head SET seq = {}, hash = '{}' WHERE id = 1; DELETE FROM audit_anchors;",
        last.seq, last.hash
    ));
    app.engine
        .store
        .with_conn(|c| {
            use diesel::connection::SimpleConnection;
            Ok(c.batch_execute(&script)?)
        })
        .unwrap();
}

// Issue 12 item 10, over HTTP on the PostgreSQL engine database.
#[tokio::test]
async fn signed_heads_are_exported_to_auditors_and_verify_catches_a_rewrite_against_them() {
    let app = TestApp::new(true).unwrap();
    rightful_engine::auth::add_staff(
        &app.engine,
        "auditor1",
        rightful_engine::auth::Role::Auditor,
        "a long enough password",
    )
    .unwrap();
    app.engine
        .store
        .with_conn(|c| {
            let content = |k: u32| rightful_core::audit::EntryContent {
                at: chrono::Utc::now(),
                actor: "dpo:1".into(),
                action: "request.approved".into(),
                target: format!("req-{k}"),
                reason: String::new(),
                details: serde_json::json!({}),
            };
            rightful_store::models::audit::append(c, (1..=4).map(content).collect())
        })
        .unwrap();
    let anchored = match rightful_engine::anchor::run_once(&app.engine)
        .await
        .unwrap()
    {
        rightful_engine::anchor::Outcome::Anchored(a) => a,
        other => panic!("not anchored: {other:?}"),
    };
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();

    let anonymous = http
        .get(format!("{base}/v1/audit/anchors"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let auth = bearer(&http, &base, "auditor1").await;
    let anchors: Vec<serde_json::Value> = http
        .get(format!("{base}/v1/audit/anchors"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0]["seq"], anchored.seq);
    // The auditor checks it with the published key, without any secret.
    let jwks: jsonwebtoken::jwk::JwkSet = http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims: rightful_core::audit::AnchorClaims =
        rightful_engine::signing::verify_with_jwks(&jwks, anchors[0]["jws"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        (claims.seq, claims.hash.as_str()),
        (anchored.seq, anchored.hash.as_str())
    );
    let verify = |http: reqwest::Client, auth: String| {
        let base = base.clone();
        async move {
            http.get(format!("{base}/v1/audit/verify"))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let intact = verify(http.clone(), auth.clone()).await;
    assert_eq!(intact["ok"], true, "{intact}");
    assert_eq!(intact["anchored_seq"], anchored.seq);

    rewrite_as_a_database_writer(&app, 2);
    assert!(
        app.engine
            .store
            .with_conn(rightful_store::models::audit::verify)
            .unwrap()
            .ok(),
        "the chain alone is fooled"
    );
    let left: Vec<serde_json::Value> = http
        .get(format!("{base}/v1/audit/anchors"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    // The table's anchors are gone; the copy in the data directory (on the application server,
    // out of the database writer's reach) still holds the signed head.
    let caught = verify(http.clone(), auth.clone()).await;
    assert_eq!(caught["ok"], false, "{caught}");
    assert_eq!(caught["anchored_seq"], anchored.seq);
    let problems = caught["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{caught}");
    assert_eq!(problems[0]["problem"]["kind"], "rewritten");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "entry {} differs from the signed head of",
                anchored.seq
            )),
        "{caught}"
    );
    // And the engine refuses to sign the rewritten head.
    assert!(matches!(
        rightful_engine::anchor::run_once(&app.engine)
            .await
            .unwrap(),
        rightful_engine::anchor::Outcome::Refused(_)
    ));
}
