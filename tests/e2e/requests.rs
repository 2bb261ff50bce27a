//! Requests in (A1, A2, A4, A10, A12, A14) and the DPO's decisions, through the HTTP API.

use crate::call;
use actix_web::test as atest;
use rightful_core::lifecycle::Status;
use rightful_engine::auth::{Role, add_staff};
use rightful_engine::intake::Acknowledgement;
use rightful_tests::TestApp;

/// Submits `body`, with the names the reference policy asks for (SPEC §6) unless it gives them.
pub(crate) fn submit(mut body: serde_json::Value) -> atest::TestRequest {
    if let Some(m) = body.as_object_mut() {
        m.entry("last_name").or_insert("Lovelace".into());
        m.entry("first_name").or_insert("Ada".into());
    }
    atest::TestRequest::post()
        .uri("/v1/requests")
        .set_json(body)
}

/// Adds a DPO account and signs it in over HTTP; returns the `Authorization` header value.
#[expect(clippy::unwrap_used, reason = "test set-up fails loudly")]
pub(crate) async fn dpo_bearer<S>(app: &TestApp, svc: &S) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    add_staff(
        &app.engine,
        "alice",
        Role::Dpo,
        "correct horse battery staple",
    )
    .unwrap();
    let login = atest::TestRequest::post().uri("/v1/auth/token").set_json(
        serde_json::json!({"username": "alice", "password": "correct horse battery staple"}),
    );
    let (_, body) = call(svc, login).await;
    format!("Bearer {}", body["access_token"].as_str().unwrap())
}

#[actix_web::test]
async fn a_subject_submits_in_plain_words_and_follows_the_request_with_its_token() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let (status, accepted) = call(&svc, submit(serde_json::json!({"text": "Merci de supprimer toutes mes données", "email": "Ann@Example.test", "first_name": "Ann", "last_name": "Example"}))).await;
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(
        accepted["type"], "erasure",
        "A14: classified from the wording"
    );
    assert_eq!(
        accepted["status"], "identity_pending",
        "an e-mail code was sent"
    );
    let id = accepted["id"].as_str().unwrap().to_owned();
    let token = accepted["token"].as_str().unwrap().to_owned();
    // A2: the due date is one month from receipt, moved past closed days.
    let received: chrono::DateTime<chrono::Utc> =
        accepted["received_at"].as_str().unwrap().parse().unwrap();
    let expected = rightful_core::deadline::Clock::new(received.date_naive())
        .due(&Default::default(), received.date_naive());
    assert_eq!(accepted["due_on"], expected.to_string());
    // A12: the acknowledgement is signed by Rightful's published key and states the period.
    let ack: Acknowledgement = app
        .engine
        .signer
        .verify(accepted["acknowledgement"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (
            ack.sub.as_str(),
            ack.request_type.as_str(),
            ack.due_on.clone()
        ),
        (id.as_str(), "erasure", expected.to_string())
    );
    assert!(ack.period.starts_with("from ") && ack.period.ends_with(&expected.to_string()));
    let (_, jwks) = call(
        &svc,
        atest::TestRequest::get().uri("/.well-known/jwks.json"),
    )
    .await;
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    // The subject follows it with the token; anything else looks like an unknown request.
    let with = |t: &str| {
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{id}/status"))
            .insert_header(("Authorization", format!("Request {t}")))
    };
    let (status, view) = call(&svc, with(&token)).await;
    assert_eq!(
        (status, view["status"].as_str()),
        (200, Some("identity_pending"))
    );
    let (other_status, _) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "bob@example.test"})),
    )
    .await;
    assert_eq!(other_status, 201);
    for bad in ["0000", "", &token[..63]] {
        assert_eq!(call(&svc, with(bad)).await.0, 404, "{bad:?}");
    }
    assert_eq!(
        call(
            &svc,
            atest::TestRequest::get().uri(&format!("/v1/requests/{id}/status"))
        )
        .await
        .0,
        404
    );
    for path in [
        "/v1/requests/..%2F..%2Fetc%2Fpasswd/status",
        "/v1/requests/not-a-uuid/status",
    ] {
        assert_eq!(
            call(
                &svc,
                atest::TestRequest::get()
                    .uri(path)
                    .insert_header(("Authorization", format!("Request {token}")))
            )
            .await
            .0,
            404,
            "{path}"
        );
    }
}

#[actix_web::test]
async fn a_repeat_within_a_day_is_linked_not_run_twice_and_bad_input_is_a_clear_400() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let (_, first) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "ann@example.test"})),
    )
    .await;
    // Only a verified request can be repeated (issue 12 item 2).
    let first_id = first["id"].as_str().unwrap().to_owned();
    let f = first_id.clone();
    app.engine
        .store
        .with_conn(move |c| {
            rightful_store::models::request::set_verified(
                c,
                &f,
                Some(chrono::Utc::now().naive_utc()),
            )
        })
        .unwrap();
    let (_, second) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "ANN@example.test"})),
    )
    .await;
    // Linked for the DPO, never told at intake, and it proceeds with its own code.
    assert!(second.get("duplicate_of").is_none());
    assert_eq!(second["status"], "identity_pending");
    let linked = |id: String| {
        app.engine
            .store
            .with_conn(move |c| rightful_store::models::request::subject(c, &id))
            .unwrap()
            .unwrap()
            .duplicate_of
    };
    assert_eq!(
        linked(second["id"].as_str().unwrap().to_owned()),
        Some(first_id)
    );
    let (_, other_kind) = call(
        &svc,
        submit(serde_json::json!({"type": "erasure", "email": "ann@example.test"})),
    )
    .await;
    assert_eq!(linked(other_kind["id"].as_str().unwrap().to_owned()), None);
    for (body, needle) in [
        (
            serde_json::json!({"type": "teleport", "email": "ann@example.test"}),
            "unknown request type",
        ),
        (
            serde_json::json!({"type": "access", "email": "not an address"}),
            "not valid",
        ),
        (
            serde_json::json!({"email": "ann@example.test"}),
            "say which right",
        ),
        (
            serde_json::json!({"type": "access", "email": "ann@example.test", "admin": true}),
            "unknown or mistyped field",
        ),
    ] {
        let (status, err) = call(&svc, submit(body)).await;
        assert_eq!((status, err["error"].as_str()), (400, Some("bad_request")));
        assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
        assert!(
            !err.to_string().contains("ann@example.test"),
            "errors never echo personal data"
        );
    }
    let malformed = atest::TestRequest::post()
        .uri("/v1/requests")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"type\":");
    assert_eq!(call(&svc, malformed).await.0, 400);
    let huge = serde_json::json!({"type": "access", "email": "ann@example.test", "text": "x".repeat(300 * 1024)});
    let (status, err) = call(&svc, submit(huge)).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (413, Some("payload_too_large")),
        "over the body limit"
    );
}

#[actix_web::test]
async fn the_dpo_approves_denies_with_reasons_and_extends_within_the_first_month() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let mut ids = Vec::new();
    for email in ["a@example.test", "b@example.test", "c@example.test"] {
        let (_, r) = call(
            &svc,
            submit(serde_json::json!({"type": "access", "email": email})),
        )
        .await;
        let id = r["id"].as_str().unwrap().to_owned();
        // Identity settled (the identity flow does this).
        app.to_review(&id);
        ids.push(id);
    }
    let decide = |id: &str, body: serde_json::Value| {
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/decision"))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(body)
    };
    assert_eq!(
        call(
            &svc,
            decide(&ids[0], serde_json::json!({"decision": "approve"}))
        )
        .await,
        (200, serde_json::json!({"id": ids[0], "status": "approved"}))
    );
    let (status, again) = call(
        &svc,
        decide(&ids[0], serde_json::json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("invalid_transition"))
    );
    // A10: no refusal without reasons.
    assert_eq!(call(&svc, decide(&ids[1], serde_json::json!({"decision": "deny", "reason_code": "manifestly_excessive", "reasons": " "}))).await.0, 400);
    assert_eq!(call(&svc, decide(&ids[1], serde_json::json!({"decision": "deny", "reason_code": "manifestly_excessive", "reasons": "Twelfth identical request this month."}))).await.0, 200);
    // A4: an extension moves the due date by two months and is refused a second time.
    let (status, ext) = call(&svc, decide(&ids[2], serde_json::json!({"decision": "extend", "reason": "complexity", "reasons": "Data in four systems."}))).await;
    assert_eq!((status, ext["status"].as_str()), (200, Some("extended")));
    let (_, view) = call(
        &svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{}", ids[2]))
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    assert_eq!(view["extended"], true);
    let received: chrono::NaiveDateTime = view["received_at"].as_str().unwrap().parse().unwrap();
    let mut clock = rightful_core::deadline::Clock::new(received.date());
    clock.extended = true;
    assert_eq!(
        view["due_on"],
        clock.due(&Default::default(), received.date()).to_string()
    );
    let path: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        path,
        [
            "received",
            "identity_pending",
            "awaiting_review",
            "extended"
        ]
    );
    let (status, twice) = call(
        &svc,
        decide(
            &ids[2],
            serde_json::json!({"decision": "extend", "reason": "complexity", "reasons": "again"}),
        ),
    )
    .await;
    assert_eq!(
        (status, twice["error"].as_str()),
        (409, Some("extension_refused"))
    );
    // Every decision is in the audit trail, with who and why, and no personal data.
    let trail = app.trail();
    let actions: Vec<&str> = trail.iter().map(|e| e.content.action.as_str()).collect();
    for a in [
        "request.received",
        "request.approved",
        "request.denied",
        "request.extended",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        trail
            .iter()
            .filter(|e| e.content.action == "request.approved")
            .all(|e| e.content.actor.starts_with("dpo:"))
    );
    assert!(!format!("{trail:?}").contains("@example.test"));
    // The queue lists them, soonest due first; an unknown status is a 400.
    let (_, queue) = call(
        &svc,
        atest::TestRequest::get()
            .uri("/v1/requests?status=approved")
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    assert_eq!(queue["requests"].as_array().unwrap().len(), 1);
    assert_eq!(
        call(
            &svc,
            atest::TestRequest::get()
                .uri("/v1/requests?status=lost")
                .insert_header(("Authorization", bearer))
        )
        .await
        .0,
        400
    );
}

#[expect(clippy::unwrap_used, reason = "a test helper fails loudly")]
pub(crate) fn code_in(message: &str) -> String {
    let marker = ["enter this code: ", "saisissez ce code : "]
        .into_iter()
        .find(|m| message.contains(m))
        .unwrap();
    let at = message.find(marker).unwrap() + marker.len();
    message[at..at + 6].to_owned()
}

#[actix_web::test]
async fn a5_the_subject_confirms_the_e_mail_code_from_the_outbox_and_the_request_goes_to_review() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let (_, accepted) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "ann@example.test"})),
    )
    .await;
    let (id, token) = (
        accepted["id"].as_str().unwrap().to_owned(),
        accepted["token"].as_str().unwrap().to_owned(),
    );
    let outbox = app.outbox();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].contains("To: ann@example.test") && outbox[0].contains(&id));
    let code = code_in(&outbox[0]);
    let verify = |t: &str, code: &str| {
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/verify"))
            .insert_header(("Authorization", format!("Request {t}")))
            .set_json(serde_json::json!({"code": code}))
    };
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, err) = call(&svc, verify(&token, wrong)).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_code")));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("4 attempt(s) left"),
        "{err}"
    );
    assert_eq!(
        call(&svc, verify("not-the-token", &code)).await.0,
        404,
        "a code needs the request's token"
    );
    let (status, ok) = call(&svc, verify(&token, &code)).await;
    assert_eq!(
        (status, ok["status"].as_str()),
        (200, Some("awaiting_review"))
    );
    let (status, reused) = call(&svc, verify(&token, &code)).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_code")),
        "a used code does not work twice"
    );
    let trail = app.trail();
    let verified = trail
        .iter()
        .find(|e| e.content.action == "identity.verified")
        .unwrap();
    assert_eq!(verified.content.details["method"], "email_code");
    assert!(
        !format!("{trail:?}").contains("ann@example.test") && !format!("{trail:?}").contains(&code)
    );
}

#[actix_web::test]
async fn a5_codes_expire_and_run_out_of_attempts() {
    let app = TestApp::new(false).unwrap();
    let now = chrono::Utc::now();
    let sub = |email: &str| rightful_tests::submission("access", email);
    let a = rightful_engine::intake::submit(&app.engine, sub("a@example.test"), "web", now)
        .await
        .unwrap();
    let code = code_in(app.outbox().last().unwrap());
    let late = now + chrono::Duration::minutes(31);
    let err = rightful_engine::intake::verify_code(&app.engine, &a.id, &a.token, &code, late)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    let b = rightful_engine::intake::submit(&app.engine, sub("b@example.test"), "web", now)
        .await
        .unwrap();
    let code = code_in(app.outbox().last().unwrap());
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..4 {
        rightful_engine::intake::verify_code(&app.engine, &b.id, &b.token, wrong, now)
            .await
            .unwrap_err();
    }
    let last = rightful_engine::intake::verify_code(&app.engine, &b.id, &b.token, wrong, now)
        .await
        .unwrap_err();
    assert!(last.to_string().contains("cancelled"), "{last}");
    let after = rightful_engine::intake::verify_code(&app.engine, &b.id, &b.token, &code, now)
        .await
        .unwrap_err();
    assert!(after.to_string().contains("no code is pending"), "{after}");
}

#[actix_web::test]
async fn a6_a9_doubts_excessive_flags_comments_and_queue_filters() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    // Three requests: one old (received 400 days ago, overdue), two today.
    let now = chrono::Utc::now();
    let sub = |kind: &str, email: &str| rightful_tests::submission(kind, email);
    let old = rightful_engine::intake::submit(
        &app.engine,
        sub("access", "z@example.test"),
        "web",
        now - chrono::Duration::days(400),
    )
    .await
    .unwrap();
    let recent = rightful_engine::intake::submit(
        &app.engine,
        sub("access", "z@example.test"),
        "web",
        now - chrono::Duration::days(20),
    )
    .await
    .unwrap();
    let fresh =
        rightful_engine::intake::submit(&app.engine, sub("erasure", "y@example.test"), "web", now)
            .await
            .unwrap();
    for id in [&old.id, &recent.id, &fresh.id] {
        let id = id.clone();
        app.engine
            .store
            .with_conn(|c| {
                rightful_store::models::request::transition(
                    c,
                    &id,
                    Status::AwaitingReview,
                    "system",
                    "identity verified",
                    now.naive_utc(),
                )
            })
            .unwrap()
            .unwrap();
    }
    let decide = |id: &str, body: serde_json::Value| {
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/decision"))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(body)
    };
    // A6: a reasonable doubt sends the request back to identity.
    assert_eq!(
        call(
            &svc,
            decide(
                &fresh.id,
                serde_json::json!({"decision": "doubt", "reasons": ""})
            )
        )
        .await
        .0,
        400
    );
    let (status, doubt) = call(&svc, decide(&fresh.id, serde_json::json!({"decision": "doubt", "reasons": "The address differs from the one on the account."}))).await;
    assert_eq!(
        (status, doubt["status"].as_str()),
        (200, Some("identity_pending"))
    );
    // A9: excessive needs a justification and earlier requests; a year apart is never excessive.
    assert_eq!(call(&svc, decide(&recent.id, serde_json::json!({"decision": "flag_excessive", "justification": "repeat", "earlier_requests": []}))).await.0, 400);
    let (status, refused) = call(&svc, decide(&recent.id, serde_json::json!({"decision": "flag_excessive", "justification": "Same request again.", "earlier_requests": [old.id]}))).await;
    assert_eq!(status, 400);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("never excessive"),
        "{refused}"
    );
    assert_eq!(call(&svc, decide(&fresh.id, serde_json::json!({"decision": "flag_excessive", "justification": "Same request again.", "earlier_requests": [recent.id]}))).await.0, 200);
    assert_eq!(
        call(
            &svc,
            decide(
                &fresh.id,
                serde_json::json!({"decision": "comment", "text": "Called the subject."})
            )
        )
        .await
        .0,
        200
    );
    let trail = app.trail();
    let actions: Vec<&str> = trail.iter().map(|e| e.content.action.as_str()).collect();
    for a in [
        "identity.doubt_recorded",
        "request.flagged_excessive",
        "request.commented",
    ] {
        assert!(actions.contains(&a), "{a}");
    }
    // Queue filters.
    let list = |q: &str| {
        atest::TestRequest::get()
            .uri(&format!("/v1/requests?{q}"))
            .insert_header(("Authorization", bearer.clone()))
    };
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, overdue) = call(&svc, list("due=overdue")).await;
    assert_eq!(ids(&overdue), vec![old.id.clone()]);
    let (_, soon) = call(&svc, list("due=soon")).await;
    assert_eq!(
        ids(&soon),
        vec![recent.id.clone()],
        "due within the answer-early window"
    );
    let (_, erasures) = call(&svc, list("type=erasure")).await;
    assert_eq!(ids(&erasures), vec![fresh.id.clone()]);
    assert_eq!(call(&svc, list("due=yesterday")).await.0, 400);
    assert_eq!(call(&svc, list("type=teleport")).await.0, 400);
}

#[actix_web::test]
async fn a2_intake_sets_the_checklists_due_dates() {
    let app = TestApp::new(false).unwrap();
    for (received, due) in [
        ("2025-03-05", "2025-04-07"),
        ("2025-08-31", "2025-09-30"),
        ("2026-01-31", "2026-03-02"),
        ("2028-01-31", "2028-02-29"),
        ("2025-06-14", "2025-07-15"),
        ("2025-10-11", "2025-11-12"),
    ] {
        let now = received
            .parse::<chrono::NaiveDate>()
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc();
        let s = rightful_tests::submission("access", &format!("a2-{received}@example.test"));
        let accepted = rightful_engine::intake::submit(&app.engine, s, "web", now)
            .await
            .unwrap();
        assert_eq!(accepted.due_on.to_string(), due, "received {received}");
        // A12: the acknowledgement states the same period.
        let ack: Acknowledgement = app.engine.signer.verify(&accepted.acknowledgement).unwrap();
        assert_eq!(ack.period, format!("from {received} to {due}"));
    }
}
