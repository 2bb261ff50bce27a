//! Staff authentication and roles: sign-in, bearer tokens, 401 and 403.

use actix_web::test as atest;
use rightful_engine::auth::{Claims, Role, TokenKeys, add_staff};
use rightful_tests::TestApp;

const PASSWORD: &str = "correct horse battery staple";

#[expect(clippy::unwrap_used, reason = "test set-up fails loudly")]
fn with_staff() -> TestApp {
    let app = TestApp::new(false).unwrap();
    add_staff(&app.engine, "alice", Role::Dpo, PASSWORD).unwrap();
    add_staff(&app.engine, "bob", Role::Auditor, PASSWORD).unwrap();
    app
}

async fn token<S>(svc: &S, username: &str, password: &str) -> (u16, serde_json::Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let req = atest::TestRequest::post()
        .uri("/v1/auth/token")
        .set_json(serde_json::json!({"username": username, "password": password}))
        .to_request();
    let res = atest::call_service(svc, req).await;
    let status = res.status().as_u16();
    (status, atest::read_body_json(res).await)
}

async fn get<S>(svc: &S, uri: &str, bearer: Option<&str>) -> (u16, serde_json::Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let mut req = atest::TestRequest::get().uri(uri);
    if let Some(t) = bearer {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let res = atest::call_service(svc, req.to_request()).await;
    let status = res.status().as_u16();
    let body = atest::read_body(res).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[actix_web::test]
async fn a_dpo_signs_in_and_works_the_queue_an_auditor_reads_the_trail() {
    let app = with_staff();
    let svc = service!(app);
    let (status, dpo) = token(&svc, "alice", PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(dpo["role"], "dpo");
    let dpo = dpo["access_token"].as_str().unwrap().to_owned();
    let (_, auditor) = token(&svc, "bob", PASSWORD).await;
    let auditor = auditor["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&svc, "/v1/requests", Some(&dpo)).await.0, 200);
    // A `dpo` route called with an `auditor` token.
    let (status, body) = get(&svc, "/v1/requests", Some(&auditor)).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    let (status, trail) = get(&svc, "/v1/audit", Some(&auditor)).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"staff.added") && actions.contains(&"policy.loaded"),
        "{actions:?}"
    );
    assert!(
        !trail.to_string().contains(PASSWORD) && !trail.to_string().contains("argon2"),
        "no secret in the trail"
    );
    let (status, verify) = get(&svc, "/v1/audit/verify", Some(&auditor)).await;
    assert_eq!((status, verify["ok"].as_bool()), (200, Some(true)));
    assert_eq!(
        get(&svc, "/v1/audit/verify", Some(&dpo)).await.0,
        200,
        "the DPO may read the trail too"
    );
    let csv = atest::call_and_read_body(
        &svc,
        atest::TestRequest::get()
            .uri("/v1/audit?format=csv")
            .insert_header(("Authorization", format!("Bearer {auditor}")))
            .to_request(),
    )
    .await;
    assert!(String::from_utf8_lossy(&csv).starts_with("seq,at,actor,action"));
}

#[actix_web::test]
async fn bad_credentials_and_bad_tokens_get_401_and_change_nothing() {
    let app = with_staff();
    let svc = service!(app);
    let wrong = token(&svc, "alice", "not the password at all").await;
    let unknown = token(&svc, "mallory", PASSWORD).await;
    assert_eq!(
        wrong, unknown,
        "the answer never says whether the account exists"
    );
    assert_eq!(
        (wrong.0, wrong.1["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        sub: "x".into(),
        name: "alice".into(),
        role: Role::Dpo,
        iss: "rightful".into(),
        iat: now - 10,
        exp,
        ver: 0,
    };
    let expired = app.engine.auth.issue(&claims(now - 1)).unwrap();
    let forged = TokenKeys::new(b"someone else's secret")
        .issue(&claims(now + 3600))
        .unwrap();
    for bearer in [
        None,
        Some("garbage"),
        Some(expired.as_str()),
        Some(forged.as_str()),
    ] {
        let (status, body) = get(&svc, "/v1/requests", bearer).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthenticated")),
            "{bearer:?}"
        );
    }
    // Malformed body: a clear 400.
    let res = atest::call_service(
        &svc,
        atest::TestRequest::post()
            .uri("/v1/auth/token")
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 400);
}

#[test]
fn staff_accounts_need_a_plain_name_a_long_password_and_a_free_name() {
    let app = TestApp::new(false).unwrap();
    assert!(
        add_staff(&app.engine, "carol", Role::Dpo, "short")
            .unwrap_err()
            .to_string()
            .contains("12 characters")
    );
    assert!(add_staff(&app.engine, "bad name", Role::Dpo, PASSWORD).is_err());
    add_staff(&app.engine, "carol", Role::Dpo, PASSWORD).unwrap();
    assert!(
        add_staff(&app.engine, "carol", Role::Auditor, PASSWORD)
            .unwrap_err()
            .to_string()
            .contains("exists already")
    );
}
