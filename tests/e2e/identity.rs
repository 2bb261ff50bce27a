//! Identity without an e-mail code (A6, A13): an ID token from the configured OpenID Connect
//! provider, and a request signed by a registered authorised agent.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::call;
use actix_web::test as atest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rightful_tests::TestApp;

const ISSUER: &str = "https://idp.example.test";

fn idp_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn id_token(key: &SigningKey, email: &str, audience: &str, expires_in: i64) -> String {
    id_token_kid(key, "idp-1", email, audience, expires_in)
}

fn id_token_kid(
    key: &SigningKey,
    kid: &str,
    email: &str,
    audience: &str,
    expires_in: i64,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    let claims = serde_json::json!({"iss": ISSUER, "aud": audience, "sub": "u-42", "email": email, "email_verified": true, "iat": now, "exp": now + expires_in});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(key.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap()
}

fn app_with_idp_and_agent() -> (TestApp, std::path::PathBuf) {
    app_with_idp_and_agent_and(|_| {})
}

fn app_with_idp_and_agent_and(
    adjust: impl FnOnce(&mut rightful_engine::settings::Settings),
) -> (TestApp, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "rightful-identity-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(dir.join("agents")).unwrap();
    let jwks = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "idp-1", "x": URL_SAFE_NO_PAD.encode(idp_key().verifying_key().to_bytes())}]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
    let agent_key = STANDARD.encode(
        SigningKey::from_bytes(&[9u8; 32])
            .verifying_key()
            .to_bytes(),
    );
    std::fs::write(
        dir.join("agents/consumer_agent.toml"),
        format!("name = \"Consumer Agent\"\npublic_key = \"{agent_key}\"\n"),
    )
    .unwrap();
    let d = dir.clone();
    let app = TestApp::with(false, move |s| {
        s.identity.oidc_issuer = ISSUER.into();
        s.identity.oidc_audience = "rightful".into();
        s.identity.oidc_jwks_file = d.join("jwks.json").display().to_string();
        s.identity.agents_dir = d.join("agents");
        adjust(s);
    })
    .unwrap();
    (app, dir)
}

#[actix_web::test]
async fn an_oidc_token_verifies_the_requester_at_once_and_a_bad_one_stores_nothing() {
    let (app, _dir) = app_with_idp_and_agent();
    let svc = service!(app);
    let submit = |token: String, email: &str| {
        atest::TestRequest::post()
            .uri("/v1/requests")
            .set_json(serde_json::json!({"type": "access", "email": email, "id_token": token, "first_name": "Ann", "last_name": "Example"}))
    };
    let (status, ok) = call(
        &svc,
        submit(
            id_token(&idp_key(), "ann@example.test", "rightful", 300),
            "ann@example.test",
        ),
    )
    .await;
    assert_eq!(
        (status, ok["status"].as_str()),
        (201, Some("awaiting_review")),
        "{ok}"
    );
    // A12: the acknowledgement goes out by mail too, with the due date and without any code.
    let outbox = app.outbox();
    assert_eq!(outbox.len(), 1, "one acknowledgement, no e-mail code");
    assert!(outbox[0].contains("Your identity is confirmed") && !outbox[0].contains("code"));
    assert!(outbox[0].contains(ok["due_on"].as_str().unwrap()));
    let stranger = SigningKey::from_bytes(&[8u8; 32]);
    for (token, email, why) in [
        (
            id_token(&idp_key(), "ann@example.test", "rightful", 300),
            "bob@example.test",
            "another address",
        ),
        (
            id_token(&idp_key(), "bob@example.test", "someone-else", 300),
            "bob@example.test",
            "wrong audience",
        ),
        (
            id_token(&idp_key(), "bob@example.test", "rightful", -120),
            "bob@example.test",
            "expired",
        ),
        (
            id_token(&stranger, "bob@example.test", "rightful", 300),
            "bob@example.test",
            "not the provider's key",
        ),
        ("not.a.token".to_owned(), "bob@example.test", "malformed"),
    ] {
        let (status, err) = call(&svc, submit(token, email)).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("bad_request")),
            "{why}: {err}"
        );
    }
    let count = app
        .engine
        .store
        .with_conn(|c| rightful_store::models::request::list(c, &Default::default()))
        .unwrap()
        .len();
    assert_eq!(count, 1, "refused submissions store nothing");
}

#[actix_web::test]
async fn a13_an_agent_signed_request_is_verified_and_needs_a_mandate_before_disclosure() {
    let (app, _dir) = app_with_idp_and_agent();
    let svc = service!(app);
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let body = serde_json::json!({"type": "erasure", "email": "ann@example.test", "first_name": "Ann", "last_name": "Example"})
        .to_string();
    let signed = |header: String, body: &str| {
        atest::TestRequest::post()
            .uri("/v1/requests")
            .insert_header(("content-type", "application/json"))
            .insert_header(("Rightful-Agent-Signature", header))
            .set_payload(body.to_owned())
    };
    let good = format!(
        "agent=consumer_agent, signature={}",
        STANDARD.encode(key.sign(body.as_bytes()).to_bytes())
    );
    let (status, ok) = call(&svc, signed(good, &body)).await;
    assert_eq!(
        (status, ok["status"].as_str()),
        (201, Some("awaiting_review")),
        "{ok}"
    );
    let trail = app.trail();
    let verified = trail
        .iter()
        .find(|e| e.content.action == "identity.verified")
        .unwrap();
    assert_eq!(verified.content.actor, "agent:consumer_agent");
    assert_eq!(verified.content.details["mandate_required"], true);
    // A13: the mandate is asked for, and the request cannot be approved until it is checked.
    let id = ok["id"].as_str().unwrap();
    let token = ok["token"].as_str().unwrap();
    let bearer = crate::requests::dpo_bearer(&app, &svc).await;
    let approve = || {
        atest::TestRequest::post()
            .uri(&format!("/v1/requests/{id}/decision"))
            .insert_header(("Authorization", bearer.clone()))
            .set_json(serde_json::json!({"decision": "approve"}))
    };
    let (status, e) = call(&svc, approve()).await;
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("mandate"), "{e}");
    let put = atest::TestRequest::put()
        .uri(&format!("/v1/requests/{id}/documents/mandate"))
        .insert_header(("content-type", "application/pdf"))
        .insert_header(("Authorization", format!("Request {token}")))
        .set_payload(b"%PDF-1.4 mandate signed by the subject".to_vec());
    assert_eq!(call(&svc, put).await.0, 204);
    let check = atest::TestRequest::post()
        .uri(&format!("/v1/requests/{id}/documents/mandate/check"))
        .insert_header(("Authorization", bearer.clone()))
        .set_json(serde_json::json!({"outcome": "accepted", "method": "signature compared with the account holder's"}));
    assert_eq!(call(&svc, check).await.0, 200);
    assert_eq!(call(&svc, approve()).await.0, 200);
    let tampered = body.replace("erasure", "access");
    for (header, payload, why) in [
        (
            format!(
                "agent=consumer_agent, signature={}",
                STANDARD.encode(key.sign(body.as_bytes()).to_bytes())
            ),
            tampered.as_str(),
            "body changed after signing",
        ),
        (
            format!(
                "agent=nobody, signature={}",
                STANDARD.encode(key.sign(body.as_bytes()).to_bytes())
            ),
            body.as_str(),
            "unknown agent",
        ),
        (
            "agent=consumer_agent, signature=!!!".to_owned(),
            body.as_str(),
            "bad base64",
        ),
        (
            format!(
                "agent=consumer_agent, signature={}",
                STANDARD.encode(
                    SigningKey::from_bytes(&[1u8; 32])
                        .sign(body.as_bytes())
                        .to_bytes()
                )
            ),
            body.as_str(),
            "another key",
        ),
        (
            "agent=../../etc/passwd, signature=AAAA".to_owned(),
            body.as_str(),
            "path in the agent id",
        ),
    ] {
        let (status, err) = call(&svc, signed(header, payload)).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("bad_request")),
            "{why}: {err}"
        );
    }
}

fn jwk(key: &SigningKey, kid: &str) -> serde_json::Value {
    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())})
}

#[actix_web::test]
async fn a6_the_providers_keys_come_from_its_jwks_address_cached_and_fetched_again_after_rotation()
{
    use std::sync::atomic::Ordering;
    let keys = std::sync::Arc::new(std::sync::Mutex::new(
        serde_json::json!({"keys": [jwk(&idp_key(), "idp-1")]}),
    ));
    let (addr, fetches) = jwks_server(keys.clone());
    let app = TestApp::with(false, |s| {
        s.identity.oidc_issuer = ISSUER.into();
        s.identity.oidc_audience = "rightful".into();
        s.identity.oidc_jwks_url = format!("http://{addr}/jwks");
        // The rotation below comes at once: no floor between fetches here.
        s.identity.oidc_jwks_refresh_floor_secs = 0;
    })
    .unwrap();
    let svc = service!(app);
    let submit = |token: String, email: &str| {
        atest::TestRequest::post().uri("/v1/requests").set_json(
            serde_json::json!({"type": "access", "email": email, "id_token": token, "first_name": "Ann", "last_name": "Example"}),
        )
    };
    for email in ["a@example.test", "b@example.test"] {
        let (status, ok) = call(
            &svc,
            submit(id_token(&idp_key(), email, "rightful", 300), email),
        )
        .await;
        assert_eq!(
            (status, ok["status"].as_str()),
            (201, Some("awaiting_review")),
            "{ok}"
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the keys are cached");
    // The provider rotates its key: a token naming the new key makes Rightful fetch again.
    let new_key = SigningKey::from_bytes(&[11u8; 32]);
    *keys.lock().unwrap() = serde_json::json!({"keys": [jwk(&new_key, "idp-2")]});
    let (status, ok) = call(
        &svc,
        submit(
            id_token_kid(&new_key, "idp-2", "c@example.test", "rightful", 300),
            "c@example.test",
        ),
    )
    .await;
    assert_eq!(
        (status, ok["status"].as_str()),
        (201, Some("awaiting_review")),
        "{ok}"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // A token under a key the provider never published is refused, whatever the fetches.
    let stranger = SigningKey::from_bytes(&[12u8; 32]);
    let (status, _) = call(
        &svc,
        submit(
            id_token_kid(&stranger, "idp-9", "d@example.test", "rightful", 300),
            "d@example.test",
        ),
    )
    .await;
    assert_eq!(status, 400);
}

/// The identity provider: a real HTTP server publishing `keys` at `/jwks`, counting the fetches.
fn jwks_server(
    keys: std::sync::Arc<std::sync::Mutex<serde_json::Value>>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let fetches = std::sync::Arc::new(AtomicUsize::new(0));
    let (k, f) = (keys, fetches.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let idp = actix_web::HttpServer::new(move || {
        let (k, f) = (k.clone(), f.clone());
        actix_web::App::new().route(
            "/jwks",
            actix_web::web::get().to(move || {
                let (k, f) = (k.clone(), f.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let body = k.lock().unwrap().clone();
                    actix_web::HttpResponse::Ok().json(body)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(idp);
    (addr, fetches)
}

// Issue 12: anyone can send a token naming a made-up key id; within the refresh floor none of
// them costs a request to the identity provider.
#[actix_web::test]
async fn made_up_key_ids_do_not_make_rightful_fetch_the_providers_keys_again() {
    use std::sync::atomic::Ordering;
    let keys = std::sync::Arc::new(std::sync::Mutex::new(
        serde_json::json!({"keys": [jwk(&idp_key(), "idp-1")]}),
    ));
    let (addr, fetches) = jwks_server(keys);
    let app = TestApp::with(false, |s| {
        s.identity.oidc_issuer = ISSUER.into();
        s.identity.oidc_audience = "rightful".into();
        s.identity.oidc_jwks_url = format!("http://{addr}/jwks");
    })
    .unwrap();
    let svc = service!(app);
    let stranger = SigningKey::from_bytes(&[12u8; 32]);
    for n in 0..20 {
        let email = format!("s{n}@example.test");
        let (status, _) = call(
            &svc,
            atest::TestRequest::post().uri("/v1/requests").set_json(serde_json::json!({
                "type": "access", "email": email, "first_name": "A", "last_name": "B",
                "id_token": id_token_kid(&stranger, &format!("made-up-{n}"), &email, "rightful", 300)
            })),
        )
        .await;
        assert_eq!(status, 400);
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "one fetch for twenty made-up keys"
    );
}

#[actix_web::test]
async fn staff_may_sign_in_at_the_identity_provider_with_a_role_claim() {
    let (app, _dir) =
        app_with_idp_and_agent_and(|s| s.identity.staff_oidc_audience = "rightful-staff".into());
    let svc = service!(app);
    let staff_token = |aud: &str, role: serde_json::Value, key: &SigningKey| {
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("idp-1".into());
        let claims = serde_json::json!({"iss": ISSUER, "aud": aud, "sub": "staff-7", "preferred_username": "dana", "rightful_role": role, "iat": now, "exp": now + 300});
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ed_der(key.to_pkcs8_der().unwrap().as_bytes()),
        )
        .unwrap()
    };
    let get = |uri: &str, token: String| {
        atest::TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
    };
    let dpo = staff_token(
        "rightful-staff",
        serde_json::json!(["staff", "dpo"]),
        &idp_key(),
    );
    assert_eq!(call(&svc, get("/v1/requests", dpo)).await.0, 200);
    let auditor = staff_token("rightful-staff", serde_json::json!("auditor"), &idp_key());
    assert_eq!(
        call(&svc, get("/v1/audit/verify", auditor.clone())).await.0,
        200
    );
    assert_eq!(
        call(&svc, get("/v1/requests", auditor)).await.0,
        403,
        "an auditor cannot work the queue"
    );
    for (token, why) in [
        (
            staff_token("rightful-staff", serde_json::json!("admin"), &idp_key()),
            "no known role",
        ),
        (
            staff_token("rightful", serde_json::json!("dpo"), &idp_key()),
            "the subjects' audience",
        ),
        (
            staff_token(
                "rightful-staff",
                serde_json::json!("dpo"),
                &SigningKey::from_bytes(&[8u8; 32]),
            ),
            "not the provider's key",
        ),
    ] {
        assert_eq!(call(&svc, get("/v1/requests", token)).await.0, 401, "{why}");
    }
}
