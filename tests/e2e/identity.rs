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
    let now = chrono::Utc::now().timestamp();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("idp-1".into());
    let claims = serde_json::json!({"iss": ISSUER, "aud": audience, "sub": "u-42", "email": email, "email_verified": true, "iat": now, "exp": now + expires_in});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(key.to_pkcs8_der().unwrap().as_bytes()),
    )
    .unwrap()
}

fn app_with_idp_and_agent() -> (TestApp, std::path::PathBuf) {
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
            .set_json(serde_json::json!({"type": "access", "email": email, "id_token": token}))
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
    assert!(
        app.outbox().is_empty(),
        "no e-mail code when the token proves the address"
    );
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
        .with_conn(|c| rightful_store::models::request::list(c, None))
        .unwrap()
        .len();
    assert_eq!(count, 1, "refused submissions store nothing");
}

#[actix_web::test]
async fn a13_an_agent_signed_request_is_verified_and_needs_a_mandate_before_disclosure() {
    let (app, _dir) = app_with_idp_and_agent();
    let svc = service!(app);
    let key = SigningKey::from_bytes(&[9u8; 32]);
    let body = serde_json::json!({"type": "erasure", "email": "ann@example.test", "name": "Ann"})
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
    let trail = app
        .engine
        .store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap();
    let verified = trail
        .iter()
        .find(|e| e.content.action == "identity.verified")
        .unwrap();
    assert_eq!(verified.content.actor, "agent:consumer_agent");
    assert_eq!(verified.content.details["mandate_required"], true);
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
