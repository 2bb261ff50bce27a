//! The Data Rights Protocol 1.0 over a real port: the tests act as authorised agents with their
//! own Ed25519 keys, and receive status callbacks on a local HTTP receiver.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use rightful_tests::{DemoSite, TestApp};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUSINESS: &str = "RIGHTFUL_TEST";

struct Agent {
    id: &'static str,
    key: SigningKey,
}

impl Agent {
    fn new(id: &'static str, seed: u8) -> Self {
        Self {
            id,
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// base64(signature ‖ JSON), as an agent sends it.
    fn sign(&self, body: &Value) -> String {
        let msg = serde_json::to_vec(body).unwrap();
        let sig = self.key.sign(&msg);
        STANDARD.encode([sig.to_bytes().as_slice(), &msg].concat())
    }

    /// The envelope of a message, valid for five minutes, with `extra` fields.
    fn envelope(&self, extra: Value) -> Value {
        let now = chrono::Utc::now();
        let t = |d: chrono::Duration| (now + d).format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
        let mut v = json!({
            "agent-id": self.id,
            "business-id": BUSINESS,
            "issued-at": t(chrono::Duration::seconds(-1)),
            "expires-at": t(chrono::Duration::minutes(5)),
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }
}

/// Writes the agents' registry: `(agent, attests_mandates)`.
fn registry(agents: &[(&Agent, bool)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rightful-drp-agents-{}-{}",
        std::process::id(),
        agents[0].0.key.to_bytes()[0]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (a, attests) in agents {
        std::fs::write(
            dir.join(format!("{}.toml", a.id)),
            format!(
                "name = \"Agent {}\"\npublic_key = \"{}\"\nattests_mandates = {attests}\n",
                a.id,
                STANDARD.encode(a.key.verifying_key().to_bytes())
            ),
        )
        .unwrap();
    }
    dir
}

/// A local HTTP receiver for status callbacks: records each JSON body; answers 200, or 500 while
/// `failing`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

fn receiver() -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (g, f) = (got.clone(), failing.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body = loop {
                let Ok(n) = s.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            let fail = f.load(std::sync::atomic::Ordering::SeqCst);
            if let Some(b) = body
                && !fail
            {
                g.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&b).unwrap_or(Value::Null));
            }
            let status = if fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = s.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    Receiver { url, got, failing }
}

impl Receiver {
    /// Waits until a callback for `id` reports `status`.
    async fn wait_for(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            if let Some(v) = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["request_id"] == id && v["status"] == status)
            {
                return v.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no `{status}` callback for {id}: {:?}",
            self.got.lock().unwrap()
        );
    }
}

struct Drp {
    base: String,
    http: reqwest::Client,
}

impl Drp {
    async fn setup(&self, agent_url: &str, body: String) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/v1/agent/{agent_url}", self.base))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn pair(&self, agent: &Agent) -> String {
        let (status, body) = self
            .setup(
                agent.id,
                agent.sign(&agent.envelope(json!({"drp.version": "1.0"}))),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["agent-id"], agent.id);
        v["token"].as_str().unwrap().to_owned()
    }

    async fn exercise(&self, token: &str, body: String) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/data-rights-request", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// DELETE with no Content-Type, as some agents send it.
    async fn revoke(&self, token: &str, id: &str, body: String) -> (u16, Value) {
        let r = self
            .http
            .delete(format!("{}/v1/data-rights-request/{id}", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

fn request(agent: &Agent, exercise: &str, email: &str, callback: &str) -> Value {
    agent.envelope(json!({
        "drp.version": "1.0",
        "exercise": exercise,
        "regime": "gdpr",
        "agent-request-id": format!("ar-{exercise}-{email}"),
        "status_callback": callback,
        "name": "Sam Example",
        "email": email,
        "email_verified": true,
    }))
}

/// Matches `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`.
fn is_drp_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    let (main, frac) = match s.strip_suffix("+00:00").and_then(|m| m.split_once('.')) {
        Some((m, f)) => (m, Some(f)),
        None => (s.strip_suffix("+00:00").unwrap_or("x"), None),
    };
    chrono::NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S").is_ok()
        && frac.is_none_or(|f| f.len() == 6 && f.chars().all(|c| c.is_ascii_digit()))
}

async fn staff_bearer(app: &TestApp, base: &str) -> String {
    rightful_engine::auth::add_staff(
        &app.engine,
        "dpo_drp",
        rightful_engine::auth::Role::Dpo,
        "a long enough password",
    )
    .unwrap();
    let login: Value = reqwest::Client::new()
        .post(format!("{base}/v1/auth/token"))
        .json(&json!({"username": "dpo_drp", "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("Bearer {}", login["access_token"].as_str().unwrap())
}

async fn decide(base: &str, bearer: &str, id: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/requests/{id}/decision"))
        .header("Authorization", bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A13, A14 and the protocol end to end: an agent pairs, sends each exercise, the requests enter
/// the DPO's queue and are carried out in the demo site's real stores, and every status change
/// reaches the agent's callback.
#[tokio::test]
async fn a_drp_agent_pairs_exercises_each_right_and_is_told_of_every_status_change() {
    let Some(site) = DemoSite::new(30) else {
        return;
    };
    let agent = Agent::new("AGENT_A", 7);
    let agents = registry(&[(&agent, true)]);
    let urls = site.urls.clone();
    let app = TestApp::with(true, move |s| {
        s.stores.urls = urls;
        s.identity.agents_dir = agents;
        s.drp.business_id = BUSINESS.into();
        s.drp.allow_plain_http_callbacks = true;
        s.drp.callback_poll_ms = 50;
    })
    .unwrap();
    let base = app.spawn().unwrap();
    tokio::spawn(rightful_engine::drp::run_callbacks(app.engine.clone()));
    let drp = Drp {
        base: base.clone(),
        http: reqwest::Client::new(),
    };
    let cb = receiver();
    // Set-up, then agent information.
    let token = drp.pair(&agent).await;
    assert_eq!(drp.get(&token, "/v1/agent/AGENT_A").await, (200, json!({})));
    assert_eq!(drp.get(&token, "/v1/agent/AGENT_B").await.0, 403);
    let dpo = staff_bearer(&app, &base).await;

    // access → Art. 15, carried out, fulfilled with a result the agent can fetch.
    let (status, access) = drp
        .exercise(
            &token,
            agent.sign(&request(&agent, "access", "user3@example.test", &cb.url)),
        )
        .await;
    assert_eq!(status, 200, "{access}");
    assert_eq!(access["status"], "in_progress");
    assert_eq!(access["reason"], "", "the agent attests its mandates (A13)");
    assert_eq!(access["agent_request_id"], "ar-access-user3@example.test");
    for t in ["received_at", "expected_by"] {
        assert!(is_drp_time(&access[t]), "{t}: {}", access[t]);
    }
    let id = access["request_id"].as_str().unwrap().to_owned();
    // In the DPO's queue like any other request.
    let queue: Value = reqwest::Client::new()
        .get(format!("{base}/v1/requests?status=awaiting_review"))
        .header("Authorization", &dpo)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queued = queue["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (queued["type"].as_str(), queued["channel"].as_str()),
        (Some("access"), Some("drp"))
    );
    assert_eq!(
        decide(&base, &dpo, &id, json!({"decision": "approve"})).await,
        200
    );
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    let done = cb.wait_for(&id, "fulfilled").await;
    assert_eq!(done["reason"], "");
    assert!(is_drp_time(&done["expires_at"]));
    let results = done["results_url"].as_str().unwrap();
    let path = results
        .split_once("/v1/")
        .map(|(_, p)| format!("/v1/{p}"))
        .unwrap();
    let zip = drp
        .http
        .get(format!("{base}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(&zip.bytes().await.unwrap()[..2], b"PK");
    assert_eq!(
        drp.get(&token, &format!("/v1/data-rights-request/{id}"))
            .await
            .1,
        done
    );

    // deletion → Art. 17: the newsletter subscription of user10 is gone from MariaDB.
    let (_, deletion) = drp
        .exercise(
            &token,
            agent.sign(&request(&agent, "deletion", "user10@example.test", &cb.url)),
        )
        .await;
    let del_id = deletion["request_id"].as_str().unwrap().to_owned();
    assert_eq!(
        decide(&base, &dpo, &del_id, json!({"decision": "approve"})).await,
        200
    );
    rightful_engine::execution::drain(&app.engine, "test")
        .await
        .unwrap();
    cb.wait_for(&del_id, "fulfilled").await;
    let mut ids = rightful_connectors::Identities::new();
    ids.insert("email".into(), ["user10@example.test".to_owned()].into());
    let left = app.engine.connector("cms").unwrap().discover(&ids).unwrap();
    assert!(
        !left.hits.iter().any(|h| h.table.ends_with("newsletter")),
        "{:?}",
        left.hits
    );

    // sale:opt-out → objection to direct marketing; sale:opt-in takes it back.
    let suppressed = |email: &'static str| {
        let engine = app.engine.clone();
        async move {
            let key = rightful_engine::stores::hash_key(&engine.settings).unwrap();
            let h = rightful_engine::suppression::hash(&key, email);
            engine
                .store
                .run(move |c| {
                    rightful_store::models::suppression::is_suppressed(
                        c,
                        "commercial_newsletter",
                        &h,
                    )
                })
                .await
                .unwrap()
        }
    };
    for (exercise, after) in [("sale:opt-out", true), ("sale:opt-in", false)] {
        let (status, sent) = drp
            .exercise(
                &token,
                agent.sign(&request(&agent, exercise, "user5@example.test", &cb.url)),
            )
            .await;
        assert_eq!(status, 200, "{sent}");
        let rid = sent["request_id"].as_str().unwrap().to_owned();
        assert_eq!(
            decide(&base, &dpo, &rid, json!({"decision": "approve"})).await,
            200
        );
        rightful_engine::execution::drain(&app.engine, "test")
            .await
            .unwrap();
        cb.wait_for(&rid, "fulfilled").await;
        assert_eq!(suppressed("user5@example.test").await, after, "{exercise}");
    }

    // access:categories is not a separate right here: denied, claim_not_covered.
    let (status, cats) = drp
        .exercise(
            &token,
            agent.sign(&request(
                &agent,
                "access:categories",
                "user3@example.test",
                &cb.url,
            )),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (cats["status"].as_str(), cats["reason"].as_str()),
        (Some("denied"), Some("claim_not_covered"))
    );
    assert!(
        cats["processing_details"]
            .as_str()
            .unwrap()
            .contains("access")
    );
    assert!(cats.get("expected_by").is_none());

    // An extension moves `expected_by`, says why, and is pushed.
    let (_, slow) = drp
        .exercise(
            &token,
            agent.sign(&request(&agent, "access", "user12@example.test", &cb.url)),
        )
        .await;
    let slow_id = slow["request_id"].as_str().unwrap().to_owned();
    let extend =
        json!({"decision": "extend", "reason": "complexity", "reasons": "Data in three systems."});
    assert_eq!(decide(&base, &dpo, &slow_id, extend).await, 200);
    let extended = cb.wait_for(&slow_id, "in_progress").await;
    assert!(
        extended["expected_by"].as_str() > slow["expected_by"].as_str(),
        "{extended}"
    );
    assert!(
        extended["processing_details"]
            .as_str()
            .unwrap()
            .contains("extended")
    );

    // Revoke: a signed reason, no Content-Type; the request is withdrawn and the agent told.
    let (_, open) = drp
        .exercise(
            &token,
            agent.sign(&request(&agent, "deletion", "user9@example.test", &cb.url)),
        )
        .await;
    let open_id = open["request_id"].as_str().unwrap().to_owned();
    let (status, revoked) = drp
        .revoke(
            &token,
            &open_id,
            agent.sign(&json!({"reason": "I changed my mind"})),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    cb.wait_for(&open_id, "revoked").await;
    let (status, again) = drp
        .revoke(&token, &open_id, agent.sign(&json!({"reason": "twice"})))
        .await;
    assert_eq!(status, 409, "{again}");
    // A request already carried out cannot be revoked.
    assert_eq!(
        drp.revoke(&token, &id, agent.sign(&json!({"reason": "late"})))
            .await
            .0,
        409
    );
    // Each status change was pushed once, in order, never the same twice in a row.
    let got = cb.got.lock().unwrap().clone();
    let mine: Vec<&str> = got
        .iter()
        .filter(|v| v["request_id"] == id.as_str())
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(mine, ["fulfilled"], "in_progress was already in the answer");
    let trail = app.trail();
    assert!(trail.iter().any(|e| e.content.action == "drp.agent_paired"));
    assert!(
        trail
            .iter()
            .any(|e| e.content.action == "document.attested" && e.content.target == id)
    );
    assert!(
        trail
            .iter()
            .any(|e| e.content.action == "drp.status_pushed")
    );
    assert!(
        !format!("{trail:?}").contains("user3@example.test"),
        "no personal data in the trail"
    );
}

/// Every rejection the protocol names, and an agent that does not attest its mandates.
#[tokio::test]
async fn drp_rejects_what_it_cannot_trust_and_waits_for_a_mandate_it_was_not_given() {
    let a = Agent::new("AGENT_A", 11);
    let b = Agent::new("AGENT_B", 12);
    let stranger = Agent::new("AGENT_C", 13);
    let agents = registry(&[(&a, false), (&b, false)]);
    let app = TestApp::with(true, move |s| {
        s.identity.agents_dir = agents;
        s.drp.business_id = BUSINESS.into();
        s.drp.allow_plain_http_callbacks = true;
        s.drp.callback_attempts = 2;
    })
    .unwrap();
    let base = app.spawn().unwrap();
    let drp = Drp {
        base: base.clone(),
        http: reqwest::Client::new(),
    };
    let cb = receiver();
    // Set-up: unregistered agent, another agent's key, the URL naming someone else, a replay.
    let setup = a.sign(&a.envelope(json!({"drp.version": "1.0"})));
    let c_setup = stranger.sign(&stranger.envelope(json!({})));
    assert_eq!(drp.setup("AGENT_C", c_setup).await, (403, String::new()));
    let forged = stranger.sign(&a.envelope(json!({})));
    assert_eq!(drp.setup("AGENT_A", forged).await, (403, String::new()));
    assert_eq!(
        drp.setup("AGENT_B", setup.clone()).await,
        (403, String::new())
    );
    let wrong_business = a.sign(&a.envelope(json!({"business-id": "SOMEONE_ELSE"})));
    assert_eq!(
        drp.setup("AGENT_A", wrong_business).await,
        (403, String::new())
    );
    let (status, _) = drp.setup("AGENT_A", setup.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        drp.setup("AGENT_A", setup).await,
        (403, String::new()),
        "a replayed set-up"
    );
    let token = drp.pair(&a).await;
    let token_b = drp.pair(&b).await;

    let good = |extra: Value| {
        let mut v = request(&a, "access", "ann@example.test", &cb.url);
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let code = |r: (u16, Value)| (r.0, r.1["code"].as_str().map(str::to_owned));
    // Bad base64, bad signature, wrong agent, wrong business, expired, future, unknown
    // exercise, no token, a replay.
    assert_eq!(
        code(drp.exercise(&token, "not base64 at all!".into()).await),
        (400, Some("400".into()))
    );
    assert_eq!(
        code(drp.exercise(&token, stranger.sign(&good(json!({})))).await).0,
        403
    );
    assert_eq!(
        code(
            drp.exercise(&token, a.sign(&good(json!({"agent-id": "AGENT_B"}))))
                .await
        )
        .0,
        403
    );
    assert_eq!(
        code(
            drp.exercise(
                &token,
                a.sign(&good(json!({"business-id": "SOMEONE_ELSE"})))
            )
            .await
        )
        .0,
        403
    );
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    assert_eq!(
        code(
            drp.exercise(&token, a.sign(&good(json!({"expires-at": past}))))
                .await
        )
        .0,
        403
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(
        code(
            drp.exercise(&token, a.sign(&good(json!({"issued-at": future}))))
                .await
        )
        .0,
        403
    );
    let (status, unknown) = drp
        .exercise(
            &token,
            a.sign(&good(json!({"exercise": "sale:everything"}))),
        )
        .await;
    assert_eq!(
        (status, unknown["fatal"].as_bool()),
        (400, Some(true)),
        "{unknown}"
    );
    assert_eq!(
        code(
            drp.exercise(&token, a.sign(&good(json!({"drp.version": "0.5"}))))
                .await
        )
        .0,
        400
    );
    assert_eq!(
        code(
            drp.exercise("no-such-token", a.sign(&good(json!({}))))
                .await
        )
        .0,
        403
    );
    let unverified = drp
        .exercise(&token, a.sign(&good(json!({"email_verified": false}))))
        .await;
    assert_eq!(
        (
            unverified.1["status"].as_str(),
            unverified.1["reason"].as_str()
        ),
        (Some("denied"), Some("insuf_verification"))
    );
    let once = a.sign(&good(json!({})));
    let (status, sent) = drp.exercise(&token, once.clone()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        code(drp.exercise(&token, once).await).0,
        403,
        "a replayed request"
    );
    let id = sent["request_id"].as_str().unwrap().to_owned();
    // An opt-in right after an opt-out is a request of its own, not a repeat.
    let (_, out) = drp
        .exercise(
            &token,
            a.sign(&request(&a, "sale:opt-out", "carol@example.test", &cb.url)),
        )
        .await;
    let (_, back) = drp
        .exercise(
            &token,
            a.sign(&request(&a, "sale:opt-in", "carol@example.test", &cb.url)),
        )
        .await;
    assert_eq!(
        (out["status"].as_str(), back["status"].as_str()),
        (Some("in_progress"), Some("in_progress")),
        "{back}"
    );
    // Another agent cannot read or revoke it.
    assert_eq!(
        drp.get(&token_b, &format!("/v1/data-rights-request/{id}"))
            .await
            .0,
        403
    );
    assert_eq!(
        drp.revoke(&token_b, &id, b.sign(&json!({"reason": "x"})))
            .await
            .0,
        403
    );
    assert_eq!(
        drp.get(&token, "/v1/data-rights-request/no-such-request")
            .await
            .0,
        404
    );

    // A13: this agent does not attest its mandates and sent none: the request waits for one.
    assert_eq!(
        (sent["status"].as_str(), sent["reason"].as_str()),
        (Some("in_progress"), Some("need_user_verification"))
    );
    assert!(
        sent["processing_details"]
            .as_str()
            .unwrap()
            .contains("mandate")
    );
    // As the status says, the agent sends the request again with the mandate in
    // `power_of_attorney`: a repeat, answered with the first request, which gets the mandate.
    let mandate = STANDARD.encode(b"%PDF-1.4\nmandate signed by the subject\n");
    let mut with_mandate = good(json!({}));
    with_mandate["power_of_attorney"] = json!(mandate);
    let (_, with) = drp.exercise(&token, a.sign(&with_mandate)).await;
    let repeat_id = with["request_id"].as_str().unwrap().to_owned();
    assert_ne!(repeat_id, id);
    assert_eq!(
        with["reason"], "need_user_verification",
        "until the DPO has checked it"
    );
    let with_id = id.clone();
    let docs = rightful_engine::documents::list(&app.engine, &with_id)
        .await
        .unwrap();
    assert!(
        docs.iter().any(|d| d.kind == "mandate" && d.uploaded),
        "{docs:?}"
    );
    let dpo = staff_bearer(&app, &base).await;
    let checked = reqwest::Client::new()
        .post(format!("{base}/v1/requests/{with_id}/documents/mandate/check"))
        .header("Authorization", &dpo)
        .json(&json!({"outcome": "accepted", "method": "signature compared with the account holder's"}))
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 200);
    let (_, now) = drp
        .get(&token, &format!("/v1/data-rights-request/{with_id}"))
        .await;
    assert_eq!(
        (now["status"].as_str(), now["reason"].as_str()),
        (Some("in_progress"), Some(""))
    );
    let (_, repeat) = drp
        .get(&token, &format!("/v1/data-rights-request/{repeat_id}"))
        .await;
    assert_eq!(
        (repeat["status"].as_str(), repeat["reason"].as_str()),
        (Some("in_progress"), Some("")),
        "a repeat follows the request it repeats"
    );
    assert!(
        repeat["processing_details"]
            .as_str()
            .unwrap()
            .contains("already open")
    );
    // A revocation is a signed `{"reason"}`, not another signed message of the agent.
    assert_eq!(
        drp.revoke(&token, &with_id, a.sign(&good(json!({}))))
            .await
            .0,
        400
    );

    // A failing callback never blocks the request: the push is retried, then given up.
    cb.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, _) = drp
        .revoke(
            &token,
            &with_id,
            a.sign(&json!({"reason": "no longer needed"})),
        )
        .await;
    assert_eq!(status, 200);
    let t0 = chrono::Utc::now();
    assert_eq!(
        rightful_engine::drp::push_due(&app.engine, t0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        rightful_engine::drp::push_due(&app.engine, t0 + chrono::Duration::seconds(60))
            .await
            .unwrap(),
        0
    );
    let trail = app.trail();
    assert!(
        trail
            .iter()
            .any(|e| e.content.action == "drp.callback_failed" && e.content.target == with_id)
    );
    let (_, revoked) = drp
        .get(&token, &format!("/v1/data-rights-request/{with_id}"))
        .await;
    assert_eq!(revoked["status"], "revoked");
    assert!(
        revoked["processing_details"]
            .as_str()
            .unwrap()
            .contains("no longer needed")
    );
    assert!(
        cb.got.lock().unwrap().is_empty(),
        "nothing was received while failing"
    );
    // An agent removed from the registry is stopped at once, whatever token it holds.
    std::fs::remove_file(app.engine.settings.identity.agents_dir.join("AGENT_B.toml")).unwrap();
    assert_eq!(drp.get(&token_b, "/v1/agent/AGENT_B").await.0, 403);
}
