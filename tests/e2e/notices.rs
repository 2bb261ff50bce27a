//! Notices and reminders (A3, A4, A10, A11), what a request must carry (SPEC §6, C1, C7), and the
//! OpenAPI document, through the HTTP API.

use crate::call;
use crate::requests::{dpo_bearer, submit};
use actix_web::test as atest;
use rightful_tests::TestApp;

fn decide(id: &str, bearer: &str, body: serde_json::Value) -> atest::TestRequest {
    atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/decision"))
        .insert_header(("Authorization", bearer.to_owned()))
        .set_json(body)
}

#[actix_web::test]
async fn a4_a10_a11_refusals_and_extensions_are_notified_in_the_subjects_language_before_they_stand()
 {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (_, fr) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "fr@example.test", "language": "fr"})),
    )
    .await;
    let (_, en) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "en@example.test"})),
    )
    .await;
    let (fr_id, en_id) = (fr["id"].as_str().unwrap(), en["id"].as_str().unwrap());
    // A11/A12: the acknowledgement (with the code) is in the subject's language.
    let outbox = app.outbox();
    assert!(
        outbox
            .iter()
            .any(|m| m.contains(fr_id) && m.contains("saisissez ce code"))
    );
    assert!(
        outbox
            .iter()
            .any(|m| m.contains(en_id) && m.contains("enter this code"))
    );
    app.to_review(fr_id);
    app.to_review(en_id);
    // A10: the refusal gives the reasons, the complaint to the CNIL with its details, and the
    // court; in French for a French request.
    let (status, _) = call(&svc, decide(fr_id, &bearer, serde_json::json!({"decision": "deny", "reason_code": "manifestly_excessive", "reasons": "Douzième demande identique ce mois-ci."}))).await;
    assert_eq!(status, 200);
    let notice = app.outbox().into_iter().last().unwrap();
    for needle in [
        "Douzième demande identique",
        "Motifs",
        "article 77",
        "CNIL",
        "3 Place de Fontenoy",
        "https://www.cnil.fr/fr/webform/adresser-une-plainte",
        "recours juridictionnel",
        "article 79",
    ] {
        assert!(notice.contains(needle), "{needle}: {notice}");
    }
    assert!(
        notice.contains("To: fr@example.test"),
        "sent to the subject"
    );
    // A4: the extension notice gives the reasons and the new date.
    let (_, ext) = call(&svc, decide(en_id, &bearer, serde_json::json!({"decision": "extend", "reason": "complexity", "reasons": "Your data is in four systems."}))).await;
    assert_eq!(ext["status"], "extended");
    let (_, view) = call(
        &svc,
        atest::TestRequest::get()
            .uri(&format!("/v1/requests/{en_id}"))
            .insert_header(("Authorization", bearer.clone())),
    )
    .await;
    let notice = app.outbox().into_iter().last().unwrap();
    assert!(
        notice.contains("Your data is in four systems.")
            && notice.contains(view["due_on"].as_str().unwrap()),
        "{notice}"
    );
    // Each notice is in the audit trail, sent no later than the due date (A10 test), without text.
    let trail = app.trail();
    let sent: Vec<_> = trail
        .iter()
        .filter(|e| e.content.action == "notice.sent")
        .collect();
    let kinds: Vec<&str> = sent
        .iter()
        .map(|e| e.content.details["notice"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"denied") && kinds.contains(&"extended"),
        "{kinds:?}"
    );
    let denied = sent
        .iter()
        .find(|e| e.content.details["notice"] == "denied")
        .unwrap();
    assert_eq!(denied.content.details["language"], "fr");
    let due: chrono::NaiveDate = fr["due_on"].as_str().unwrap().parse().unwrap();
    assert!(denied.content.at.date_naive() <= due);
    assert!(
        !format!("{trail:?}").contains("recours juridictionnel"),
        "the notice text stays out of the trail"
    );
}

#[actix_web::test]
async fn a10_a_refusal_whose_notice_cannot_be_sent_changes_nothing() {
    // A mail server that refuses connections: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::with(false, |s| {
        s.mail.transport = "smtp".into();
        s.mail.smtp_url = format!("smtp+plain://127.0.0.1:{port}");
    })
    .unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (status, r) = call(
        &svc,
        submit(serde_json::json!({"type": "access", "email": "ann@example.test"})),
    )
    .await;
    assert_eq!(
        (status, r["status"].as_str()),
        (201, Some("received")),
        "the code could not go: the request waits for the DPO"
    );
    let id = r["id"].as_str().unwrap();
    app.to_review(id);
    let (status, e) = call(&svc, decide(id, &bearer, serde_json::json!({"decision": "deny", "reason_code": "not_covered", "reasons": "We hold no data on you."}))).await;
    assert_eq!((status, e["error"].as_str()), (503, Some("notice_failed")));
    let row = app.engine.store.with_conn({
        let id = id.to_owned();
        move |c| rightful_store::models::request::find(c, &id)
    });
    assert_eq!(
        row.unwrap().unwrap().status,
        "awaiting_review",
        "nothing changed"
    );
}

#[actix_web::test]
async fn evidence_and_details_each_type_needs_are_checked_before_anything_is_stored() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let raw = |body: serde_json::Value| {
        atest::TestRequest::post()
            .uri("/v1/requests")
            .set_json(body)
    };
    // SPEC §6: the reference policy asks for the last name and first name.
    let (status, e) = call(
        &svc,
        raw(serde_json::json!({"type": "access", "email": "ann@example.test"})),
    )
    .await;
    assert_eq!(
        (status, e["message"].as_str()),
        (400, Some("this request must state: last_name, first_name"))
    );
    let (status, _) = call(&svc, raw(serde_json::json!({"type": "access", "email": "ann@example.test", "last_name": "X", "first_name": "  "}))).await;
    assert_eq!(status, 400);
    for (body, needle) in [
        // C1: a rectification names fields we hold, never echoing the values.
        (
            serde_json::json!({"type": "rectification", "email": "a@example.test"}),
            "new values",
        ),
        (
            serde_json::json!({"type": "rectification", "email": "a@example.test", "details": {"new_values": {"shoe_size": "secret-44"}}}),
            "`shoe_size` is not a field we hold",
        ),
        // C7: an objection states grounds, unless it is to direct marketing.
        (
            serde_json::json!({"type": "objection", "email": "a@example.test", "details": {"purposes": ["site_technical"]}}),
            "grounds",
        ),
        (
            serde_json::json!({"type": "access", "email": "a@example.test", "language": "de"}),
            "`language` is one of en, fr",
        ),
        (
            serde_json::json!({"type": "post_mortem", "email": "a@example.test", "details": {"action": "haunt"}}),
            "notice_of_death",
        ),
    ] {
        let (status, e) = call(&svc, submit(body)).await;
        let m = e["message"].as_str().unwrap_or_default();
        assert_eq!(status, 400, "{e}");
        assert!(
            m.contains(needle) && !m.contains("secret-44"),
            "{needle}: {m}"
        );
    }
    let marketing: Vec<String> = app
        .engine
        .policy
        .purposes
        .iter()
        .filter(|p| p.marketing)
        .map(|p| p.id.as_ref().to_owned())
        .collect();
    let (status, _) = call(&svc, submit(serde_json::json!({"type": "objection", "email": "a@example.test", "details": {"purposes": marketing}}))).await;
    assert_eq!(status, 201, "Art. 21(2): no grounds needed for marketing");
    let field = app.engine.policy.purposes[0].categories[0].fields[0]
        .id
        .as_ref()
        .to_owned();
    let (status, _) = call(&svc, submit(serde_json::json!({"type": "rectification", "email": "b@example.test", "details": {"new_values": {field: "New value"}}}))).await;
    assert_eq!(status, 201);
    // Only the two accepted requests are stored.
    let all = app
        .engine
        .store
        .with_conn(|c| rightful_store::models::request::list(c, &Default::default()))
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[actix_web::test]
async fn a3_the_dpo_is_reminded_once_per_threshold_and_when_overdue_and_paused_requests_are_listed()
{
    // The runs move a month ahead: the outbox keeps its messages past the sweep's default week.
    let app = TestApp::with(false, |s| s.mail.outbox_days = 365).unwrap();
    let svc = service!(app);
    let bearer = dpo_bearer(&app, &svc).await;
    let (_, r) = call(
        &svc,
        submit(serde_json::json!({"type": "erasure", "email": "ann@example.test"})),
    )
    .await;
    let id = r["id"].as_str().unwrap();
    let due: chrono::NaiveDate = r["due_on"].as_str().unwrap().parse().unwrap();
    let at = |d: chrono::NaiveDate| d.and_hms_opt(7, 0, 0).unwrap().and_utc();
    let run = |d| rightful_engine::reminders::run(&app.engine, at(d));
    let before = app.outbox().len();
    assert_eq!(
        run(due - chrono::Days::new(10)).await.unwrap().reminders,
        0,
        "not yet"
    );
    assert_eq!(
        run(due - chrono::Days::new(6)).await.unwrap().reminders,
        1,
        "7-day threshold"
    );
    assert_eq!(
        run(due - chrono::Days::new(5)).await.unwrap().reminders,
        0,
        "once per threshold"
    );
    assert_eq!(
        run(due - chrono::Days::new(1)).await.unwrap().reminders,
        1,
        "2-day threshold"
    );
    assert_eq!(
        run(due + chrono::Days::new(1)).await.unwrap().reminders,
        1,
        "overdue"
    );
    assert_eq!(run(due + chrono::Days::new(2)).await.unwrap().reminders, 0);
    let mails: Vec<String> = app.outbox().into_iter().skip(before).collect();
    assert_eq!(mails.len(), 3);
    let dpo = &app.engine.policy.controller.dpo.email;
    for m in &mails {
        assert!(m.contains(id) && m.contains(&format!("To: {dpo}")), "{m}");
        assert!(
            !m.contains("ann@example.test"),
            "no personal data in reminders"
        );
    }
    assert!(mails[2].contains("overdue by 1 day(s)"));
    // The queue shows which requests have their clock paused (waiting for identity, A5).
    let list = |q: &str| {
        atest::TestRequest::get()
            .uri(&format!("/v1/requests?{q}"))
            .insert_header(("Authorization", bearer.clone()))
    };
    let (_, paused) = call(&svc, list("paused=true")).await;
    assert_eq!(paused["requests"].as_array().unwrap().len(), 1);
    assert_eq!(paused["requests"][0]["paused"], true);
    let (_, none) = call(&svc, list("paused=true&status=awaiting_review")).await;
    assert_eq!(none["requests"].as_array().unwrap().len(), 0);
    assert_eq!(call(&svc, list("paused=maybe")).await.0, 400);
}

#[actix_web::test]
async fn a7_an_upload_left_unchecked_is_deleted_unread_by_the_sweep() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let notice = serde_json::json!({"type": "post_mortem", "email": "heir@example.test", "details": {"action": "notice_of_death", "requester_role": "heir", "deceased": {"last_name": "Example", "first_name": "Eve", "email": "eve@example.test", "date_of_death": "2026-10-01"}}});
    let (_, r) = call(&svc, submit(notice)).await;
    let (id, token) = (r["id"].as_str().unwrap(), r["token"].as_str().unwrap());
    let put = atest::TestRequest::put()
        .uri(&format!("/v1/requests/{id}/documents/death_certificate"))
        .insert_header(("content-type", "application/pdf"))
        .insert_header(("Authorization", format!("Request {token}")))
        .set_payload(b"%PDF-1.4 certificate".to_vec());
    assert_eq!(call(&svc, put).await.0, 204);
    let now = chrono::Utc::now();
    assert_eq!(
        rightful_engine::reminders::run(&app.engine, now)
            .await
            .unwrap()
            .documents_deleted,
        0
    );
    let later = now + chrono::Duration::days(app.engine.settings.identity.document_days + 1);
    assert_eq!(
        rightful_engine::reminders::run(&app.engine, later)
            .await
            .unwrap()
            .documents_deleted,
        1
    );
    assert_eq!(
        app.engine
            .store
            .with_conn(rightful_store::models::document::held)
            .unwrap(),
        0
    );
}

#[actix_web::test]
async fn the_openapi_document_describes_every_route_and_the_ui_is_served() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let (status, doc) = call(&svc, atest::TestRequest::get().uri("/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/.well-known/jwks.json",
            "/health",
            "/health/live",
            "/health/ready",
            "/metrics",
            "/v1/agent/{agent_id}",
            "/v1/audit",
            "/v1/audit/anchors",
            "/v1/audit/verify",
            "/v1/auth/token",
            "/v1/data-rights-request",
            "/v1/data-rights-request/{id}",
            "/v1/data-rights-request/{id}/result",
            "/v1/holds",
            "/v1/holds/{id}",
            "/v1/register",
            "/v1/requests",
            "/v1/requests/{id}",
            "/v1/requests/{id}/decision",
            "/v1/requests/{id}/directives",
            "/v1/requests/{id}/documents/{kind}",
            "/v1/requests/{id}/documents/{kind}/check",
            "/v1/requests/{id}/result",
            "/v1/requests/{id}/status",
            "/v1/requests/{id}/verify",
            "/v1/suppressions/check",
        ]
    );
    // Every staff route says which scheme it needs.
    let decision = &doc["paths"]["/v1/requests/{id}/decision"]["post"];
    assert_eq!(decision["security"][0]["bearer"], serde_json::json!([]));
    let exercise = &doc["paths"]["/v1/data-rights-request"]["post"];
    assert_eq!(exercise["security"][0]["drp_token"], serde_json::json!([]));
    assert!(doc["components"]["schemas"]["Submission"]["properties"]["first_name"].is_object());
    let res = atest::call_service(&svc, atest::TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(res.status().as_u16(), 200);
    let html = String::from_utf8(atest::read_body(res).await.to_vec()).unwrap();
    assert!(html.contains("swagger"), "{html}");
}
