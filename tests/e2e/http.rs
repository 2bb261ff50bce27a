//! Smoke test over a real TCP port with a real HTTP client.

use rightful_tests::TestApp;

#[tokio::test]
async fn the_server_answers_health_and_register_over_tcp() {
    let app = TestApp::new(true).unwrap();
    let base = app.spawn().unwrap();
    let client = reqwest::Client::new();
    let health: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"], "ok");
    let res = client
        .get(format!("{base}/v1/register?format=jsonld"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["@context"]["pd"], "https://w3id.org/dpv/pd#");
    let missing = client.get(format!("{base}/missing")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

/// The whole flow over a real port, engine state on PostgreSQL: a subject submits, reads the code
/// from the outbox, verifies; the DPO signs in and approves; the subject sees the status.
#[tokio::test]
async fn a_request_goes_from_intake_to_approval_over_http() {
    let app = TestApp::new(true).unwrap();
    rightful_engine::auth::add_staff(
        &app.engine,
        "dpo1",
        rightful_engine::auth::Role::Dpo,
        "a long enough password",
    )
    .unwrap();
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let accepted: serde_json::Value = http
        .post(format!("{base}/v1/requests"))
        .json(&serde_json::json!({"text": "I want a copy of my data", "email": "ann@example.test", "first_name": "Ann", "last_name": "Example"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (accepted["type"].as_str(), accepted["status"].as_str()),
        (Some("access"), Some("identity_pending"))
    );
    let (id, token) = (
        accepted["id"].as_str().unwrap(),
        accepted["token"].as_str().unwrap(),
    );
    let mail = app.outbox().into_iter().last().unwrap();
    let at = mail.find("enter this code: ").unwrap() + "enter this code: ".len();
    let code = &mail[at..at + 6];
    let verified: serde_json::Value = http
        .post(format!("{base}/v1/requests/{id}/verify"))
        .header("Authorization", format!("Request {token}"))
        .json(&serde_json::json!({"code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verified["status"], "awaiting_review");
    let login: serde_json::Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&serde_json::json!({"username": "dpo1", "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let queue: serde_json::Value = http
        .get(format!("{base}/v1/requests?status=awaiting_review"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queue["requests"][0]["id"], id);
    let approved = http
        .post(format!("{base}/v1/requests/{id}/decision"))
        .header("Authorization", &bearer)
        .json(&serde_json::json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let status: serde_json::Value = http
        .get(format!("{base}/v1/requests/{id}/status"))
        .header("Authorization", format!("Request {token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "approved");
    let steps: Vec<&str> = status["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[1].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "received",
            "identity_pending",
            "awaiting_review",
            "approved"
        ]
    );
}
