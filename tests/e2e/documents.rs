//! Documents a request carries and post-mortem requests, through the HTTP API: an identity
//! document only after a recorded doubt and deleted once checked (A6, A7, A8), documents of
//! standing for a notice of death (D5, D6), specific directives registered and revoked (D2).
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::call;
use crate::requests::{code_in, dpo_bearer, submit};
use actix_web::test as atest;
use rightful_tests::TestApp;

/// Submits `body` and confirms the e-mail code; returns the id and the token.
pub(crate) async fn verified<S>(app: &TestApp, svc: &S, body: serde_json::Value) -> (String, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let (status, r) = call(svc, submit(body)).await;
    assert_eq!(status, 201, "{r}");
    let (id, token) = (
        r["id"].as_str().unwrap().to_owned(),
        r["token"].as_str().unwrap().to_owned(),
    );
    let code = app
        .outbox()
        .iter()
        .rev()
        .find(|m| {
            m.contains(&id) && (m.contains("enter this code") || m.contains("saisissez ce code"))
        })
        .map(|m| code_in(m))
        .unwrap();
    let (status, v) = call(
        svc,
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/verify"))
            .insert_header(("Authorization", format!("Request {token}")))
            .set_json(serde_json::json!({"code": code})),
    )
    .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("awaiting_review"))
    );
    (id, token)
}

pub(crate) fn upload(
    id: &str,
    kind: &str,
    token: Option<&str>,
    ct: &str,
    body: Vec<u8>,
) -> atest::TestRequest {
    let mut r = atest::TestRequest::put()
        .uri(&format!("/v1/requests/{id}/documents/{kind}"))
        .insert_header(("content-type", ct.to_owned()))
        .set_payload(body);
    if let Some(t) = token {
        r = r.insert_header(("Authorization", format!("Request {t}")));
    }
    r
}

fn decide(id: &str, bearer: &str, body: serde_json::Value) -> atest::TestRequest {
    atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/decision"))
        .insert_header(("Authorization", bearer.to_owned()))
        .set_json(body)
}

pub(crate) fn check(id: &str, kind: &str, bearer: &str, outcome: &str) -> atest::TestRequest {
    atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/documents/{kind}/check"))
        .insert_header(("Authorization", bearer.to_owned()))
        .set_json(serde_json::json!({"outcome": outcome, "method": "name and photo compared with the account holder"}))
}

/// A document whose bytes are easy to find in a database file.
pub(crate) fn document(marker: &str) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    for _ in 0..400 {
        pdf.extend_from_slice(marker.as_bytes());
    }
    pdf
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[actix_web::test]
async fn a6_a7_an_identity_document_only_after_a_doubt_and_gone_once_checked() {
    let app = TestApp::with(false, |s| s.identity.document_max_kib = 64).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "access", "email": "ann@example.test"}),
    )
    .await;
    let pdf = document("PASSPORT-NO-X1234567-");
    // A6: no document is asked up front, so none can be uploaded.
    let (status, e) = call(
        &svc,
        upload(
            &id,
            "identity_document",
            Some(&token),
            "application/pdf",
            pdf.clone(),
        ),
    )
    .await;
    assert_eq!(
        (status, e["message"].as_str()),
        (400, Some("no identity_document is asked for this request"))
    );
    // The DPO records a reasonable doubt: the request goes back to identity, the subject is told.
    let (status, d) = call(&svc, decide(&id, &bearer, serde_json::json!({"decision": "doubt", "reasons": "The address differs from the one on the account."}))).await;
    assert_eq!(
        (status, d["status"].as_str()),
        (200, Some("identity_pending"))
    );
    let asked = app.outbox().into_iter().last().unwrap();
    assert!(
        asked.contains("identity_document")
            && asked.contains("deleted as soon as it has been checked"),
        "{asked}"
    );
    // Bad uploads change nothing.
    for (req, code) in [
        (
            upload(
                &id,
                "identity_document",
                None,
                "application/pdf",
                pdf.clone(),
            ),
            404,
        ),
        (
            upload(
                &id,
                "identity_document",
                Some(&"0".repeat(64)),
                "application/pdf",
                pdf.clone(),
            ),
            404,
        ),
        (
            upload(
                &id,
                "identity_document",
                Some(&token),
                "text/html",
                pdf.clone(),
            ),
            400,
        ),
        (
            upload(
                &id,
                "death_certificate",
                Some(&token),
                "application/pdf",
                pdf.clone(),
            ),
            400,
        ),
        (
            upload(&id, "selfie", Some(&token), "application/pdf", pdf.clone()),
            400,
        ),
        (
            upload(
                &id,
                "identity_document",
                Some(&token),
                "application/pdf",
                vec![b'x'; 65 * 1024],
            ),
            413,
        ),
        (
            upload(
                "..%2F..%2Fetc",
                "identity_document",
                Some(&token),
                "application/pdf",
                pdf.clone(),
            ),
            404,
        ),
    ] {
        assert_eq!(call(&svc, req).await.0, code);
    }
    let get_doc = || {
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}/documents/identity_document"))
            .insert_header(("Authorization", bearer.clone()))
    };
    assert_eq!(call(&svc, get_doc()).await.0, 404, "nothing uploaded yet");
    assert_eq!(
        call(
            &svc,
            upload(
                &id,
                "identity_document",
                Some(&token),
                "application/pdf",
                pdf.clone()
            )
        )
        .await
        .0,
        204
    );
    // Only the DPO reads it.
    assert_eq!(
        call(
            &svc,
            atest::TestRequest::get()
                .uri(&format!("/v1/requests/{id}/documents/identity_document"))
        )
        .await
        .0,
        401
    );
    let res = atest::call_service(&svc, get_doc().to_request()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(atest::read_body(res).await.to_vec(), pdf);
    // A check needs a method; then the document is deleted and the request goes to review.
    let (status, _) = call(
        &svc,
        atest::TestRequest::post()
            .uri(&format!(
                "/v1/requests/{id}/documents/identity_document/check"
            ))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(serde_json::json!({"outcome": "accepted", "method": " "})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, c) = call(&svc, check(&id, "identity_document", &bearer, "accepted")).await;
    assert_eq!(
        (status, c["status"].as_str()),
        (200, Some("awaiting_review"))
    );
    assert_eq!(call(&svc, get_doc()).await.0, 404, "A7: gone once checked");
    assert_eq!(
        call(&svc, check(&id, "identity_document", &bearer, "accepted"))
            .await
            .0,
        400,
        "nothing left to check"
    );
    let held = app
        .engine
        .store
        .with_conn(rightful_store::models::document::held)
        .unwrap();
    assert_eq!(held, 0);
    // Only "checked by whom, when, how" stays.
    let (_, view) = call(
        &svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}"))
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    let doc = &view["documents"][0];
    assert_eq!(
        (
            doc["kind"].as_str(),
            doc["outcome"].as_str(),
            doc["uploaded"].as_bool()
        ),
        (Some("identity_document"), Some("accepted"), Some(false))
    );
    assert!(
        doc["checked_by"].as_str().unwrap().starts_with("dpo:")
            && doc["checked_at"].is_string()
            && doc["method"].is_string()
    );
    let trail = app.trail();
    let verified = trail
        .iter()
        .rev()
        .find(|e| e.content.action == "identity.verified")
        .unwrap();
    assert_eq!(
        (
            verified.content.details["method"].as_str(),
            verified.content.details["id_checked"].as_bool()
        ),
        (Some("identity_document"), Some(true))
    );
    assert!(!format!("{trail:?}").contains("PASSPORT-NO"));
    // On SQLite the bytes are overwritten too (secure_delete), not left in free pages.
    let path = app.db.url.trim_start_matches("sqlite://").to_owned();
    app.engine
        .store
        .with_conn(|c| {
            use diesel::connection::SimpleConnection;
            Ok(c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?)
        })
        .unwrap();
    for file in [path.clone(), format!("{path}-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !contains(&bytes, b"PASSPORT-NO-X1234567-"),
                "{file} still holds the document"
            );
        }
    }
}

#[actix_web::test]
async fn a8_a_rejected_document_leaves_the_request_waiting_and_a_refusal_for_non_identification_is_notified()
 {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (id, token) = verified(
        &app,
        &svc,
        serde_json::json!({"type": "erasure", "email": "bo@example.test"}),
    )
    .await;
    call(
        &svc,
        decide(
            &id,
            &bearer,
            serde_json::json!({"decision": "doubt", "reasons": "Two accounts share this name."}),
        ),
    )
    .await;
    assert_eq!(
        call(
            &svc,
            upload(
                &id,
                "identity_document",
                Some(&token),
                "application/pdf",
                document("X")
            )
        )
        .await
        .0,
        204
    );
    let (status, c) = call(&svc, check(&id, "identity_document", &bearer, "rejected")).await;
    assert_eq!(
        (status, c["status"].as_str()),
        (200, Some("identity_pending"))
    );
    // A8: the refusal states why the subject could not be identified, with the A10 blocks.
    let (status, _) = call(&svc, decide(&id, &bearer, serde_json::json!({"decision": "deny", "reason_code": "cannot_identify", "reasons": "The document does not match the account holder; you may send other information that identifies you."}))).await;
    assert_eq!(status, 200);
    let notice = app.outbox().into_iter().last().unwrap();
    for needle in [
        "cannot_identify",
        "does not match the account holder",
        "cnil.fr",
        "Art. 77",
        "Art. 79",
    ] {
        assert!(notice.contains(needle), "{needle}: {notice}");
    }
}

#[actix_web::test]
async fn d2_directives_are_registered_versioned_and_revoked_with_specific_consent() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    // D2: no directives without a specific consent.
    let (status, e) = call(&svc, submit(serde_json::json!({"type": "post_mortem", "email": "cy@example.test", "details": {"action": "register", "directives": [{"scope": "all", "instruction": "erase"}]}}))).await;
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("specific consent"));
    let register = serde_json::json!({"type": "post_mortem", "email": "cy@example.test", "details": {"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "erase"}], "executor": {"name": "Dee", "email": "dee@example.test"}}});
    let (id, token) = verified(&app, &svc, register).await;
    let (status, done) = call(
        &svc,
        decide(&id, &bearer, serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("completed")));
    let history = |id: &str, token: &str| {
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}/directives"))
            .insert_header(("Authorization", format!("Request {token}")))
    };
    let (_, h) = call(&svc, history(&id, &token)).await;
    assert_eq!(h["versions"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            h["versions"][0]["version"].as_i64(),
            h["versions"][0]["directives"][0]["instruction"].as_str()
        ),
        (Some(1), Some("erase"))
    );
    assert_eq!(call(&svc, history(&id, &"f".repeat(64))).await.0, 404);
    // Revoked at any time: a new version, the earlier one kept.
    let (rid, rtoken) = verified(&app, &svc, serde_json::json!({"type": "post_mortem", "email": "cy@example.test", "details": {"action": "revoke"}})).await;
    call(
        &svc,
        decide(&rid, &bearer, serde_json::json!({"decision": "approve"})),
    )
    .await;
    let (_, h) = call(&svc, history(&rid, &rtoken)).await;
    let actions: Vec<&str> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["register", "revoke"]);
    assert!(
        rightful_engine::postmortem::in_force(&app.engine, "cy@example.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[actix_web::test]
async fn d5_d6_a_notice_of_death_needs_checked_proof_of_death_and_standing_before_approval() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    // The deceased had registered directives.
    let (reg, _) = verified(&app, &svc, serde_json::json!({"type": "post_mortem", "email": "eve@example.test", "details": {"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "erase"}]}})).await;
    call(
        &svc,
        decide(&reg, &bearer, serde_json::json!({"decision": "approve"})),
    )
    .await;
    // An heir notifies the death.
    let notice = serde_json::json!({"type": "post_mortem", "email": "heir@example.test", "details": {"action": "notice_of_death", "requester_role": "heir", "deceased": {"last_name": "Example", "first_name": "Eve", "email": "EVE@example.test", "date_of_death": "2026-10-01"}}});
    let (id, token) = verified(&app, &svc, notice).await;
    let asked = app
        .outbox()
        .into_iter()
        .find(|m| m.contains(&id) && m.contains("death_certificate"))
        .unwrap();
    assert!(asked.contains("heir_status"), "{asked}");
    let (status, e) = call(
        &svc,
        decide(&id, &bearer, serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("death_certificate, heir_status"),
        "{e}"
    );
    // The DPO sees the directives held for the deceased (D6 ii).
    let (_, view) = call(
        &svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}"))
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    assert_eq!(
        view["directives_in_force"]["directives"][0]["instruction"],
        "erase"
    );
    for kind in ["death_certificate", "heir_status"] {
        assert_eq!(
            call(
                &svc,
                upload(&id, kind, Some(&token), "application/pdf", document(kind))
            )
            .await
            .0,
            204
        );
        assert_eq!(
            call(&svc, check(&id, kind, &bearer, "accepted")).await.0,
            200
        );
    }
    let (status, ok) = call(
        &svc,
        decide(&id, &bearer, serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!((status, ok["status"].as_str()), (200, Some("approved")));
    let held = app
        .engine
        .store
        .with_conn(rightful_store::models::document::held)
        .unwrap();
    assert_eq!(held, 0, "A7 applies to documents of standing too");
}
