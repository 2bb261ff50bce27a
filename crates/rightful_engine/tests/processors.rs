//! Art. 19 notifications (checklist C8) against a local test receiver: signed, retried with
//! backoff, acknowledged or failed, recorded with the request and in the audit trail; manual
//! tasks with a due date.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;
use rightful_core::PurposeId;
use rightful_engine::Engine;
use rightful_engine::processors::{
    self, Channel, Event, Notice, Processor, SIGNATURE_HEADER, Secret, TIMESTAMP_HEADER,
};
use rightful_engine::settings::Settings;
use rightful_store::models::{audit, notification, request};
use rightful_store::testing::TestDb;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A minimal HTTP receiver: answers each request with the next status of `script` (then 200).
fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/art19", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Received { headers, body });
            let status = script.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

async fn engine_with_request(db: &TestDb, request_id: &str) -> Engine {
    let mut settings = Settings::default();
    settings.policy.dir = root().join("config/policy");
    settings.mail.templates_dir = root().join("config/templates");
    settings.stores.dir = root().join("config/stores");
    settings.storage.database_url = db.url.clone();
    settings.storage.data_dir =
        std::env::temp_dir().join(format!("rightful-proc-data-{}", std::process::id()));
    let engine = Engine::open(settings).unwrap();
    let id = request_id.to_owned();
    engine
        .store
        .run(move |c| {
            let t = chrono::Utc::now().naive_utc();
            request::insert(
                c,
                &request::NewRequest {
                    id: &id,
                    kind: "erasure",
                    status: "in_progress",
                    channel: "web",
                    received_at: t,
                    due_on: t.date(),
                    extended: false,
                    updated_at: t,
                },
                "subject",
            )
        })
        .await
        .unwrap();
    engine
}

fn purposes(ids: &[&str]) -> BTreeSet<PurposeId> {
    ids.iter().map(|p| PurposeId::parse(p).unwrap()).collect()
}

fn notice(request_id: &str, purposes_affected: &[&str]) -> Notice {
    Notice {
        request_id: request_id.into(),
        event: Event::Erasure,
        purposes: purposes(purposes_affected),
        subject: BTreeMap::from([(
            "email".to_owned(),
            BTreeSet::from(["ann@example.test".to_owned()]),
        )]),
        rectified: BTreeMap::new(),
        occasion: "execution",
    }
}

fn webhook(url: &str, secret: &str, attempts: u32) -> Processor {
    Processor {
        recipient: rightful_core::policy::RecipientId::parse("social_intents").unwrap(),
        purposes: purposes(&["chat"]),
        channel: Channel::Webhook {
            url: url.into(),
            secret: Secret::new(secret.as_bytes().to_vec()),
            attempts,
            backoff: Duration::from_millis(20),
        },
    }
}

fn today() -> NaiveDate {
    "2026-11-27".parse().unwrap()
}

#[tokio::test]
async fn c8_a_webhook_is_signed_retried_with_backoff_and_its_acknowledgement_recorded() {
    let db = TestDb::sqlite().unwrap();
    let engine = engine_with_request(&db, "req-1").await;
    let (url, got) = receiver(vec![503, 503, 200]);
    let secret = "a-shared-secret-of-32-characters";
    let manual = Processor {
        recipient: rightful_core::policy::RecipientId::parse("paypal").unwrap(),
        purposes: purposes(&["orders"]),
        channel: Channel::Manual {
            due_days: 14,
            instructions: "by hand".into(),
        },
    };
    let rows = processors::notify(
        &engine,
        &[webhook(&url, secret, 5), manual],
        &notice("req-1", &["chat", "orders"]),
        today(),
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let chat = rows
        .iter()
        .find(|r| r.recipient == "social_intents")
        .unwrap();
    assert_eq!(
        (chat.status.as_str(), chat.attempts, chat.last_status),
        ("acknowledged", 3, Some(200))
    );
    let paypal = rows.iter().find(|r| r.recipient == "paypal").unwrap();
    assert_eq!(
        (paypal.status.as_str(), paypal.due_on),
        ("manual_pending", Some("2026-12-11".parse().unwrap()))
    );
    // Every delivery carried a valid signature over its timestamp and body.
    {
        let received = got.lock().unwrap();
        assert_eq!(received.len(), 3);
        for r in received.iter() {
            let ts: i64 = r.headers[&TIMESTAMP_HEADER.to_ascii_lowercase()]
                .parse()
                .unwrap();
            assert_eq!(
                r.headers[&SIGNATURE_HEADER.to_ascii_lowercase()],
                processors::sign(&Secret::new(secret.as_bytes().to_vec()), ts, &r.body)
            );
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["event"], "erasure");
            assert_eq!(body["request_id"], "req-1");
            assert_eq!(body["subject"]["email"][0], "ann@example.test");
        }
        assert_ne!(
            received[0].headers[&SIGNATURE_HEADER.to_ascii_lowercase()],
            processors::sign(
                &Secret::new(b"another-secret-entirely!".to_vec()),
                0,
                &received[0].body
            )
        );
    }
    // Recorded with the request, and in the audit trail without personal data.
    let stored = engine
        .store
        .run(|c| notification::for_request(c, "req-1"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let trail = engine
        .store
        .run(|c| audit::between(c, None, None))
        .await
        .unwrap();
    let notified: Vec<_> = trail
        .iter()
        .filter(|e| e.content.action == "processor.notified")
        .collect();
    assert_eq!(notified.len(), 2);
    assert!(!format!("{notified:?}").contains("ann@example.test"));
    assert!(engine.store.run(audit::verify).await.unwrap().ok());
}

#[tokio::test]
async fn c8_a_failing_or_unreachable_processor_is_recorded_as_failed_never_as_acknowledged() {
    let db = TestDb::sqlite().unwrap();
    let engine = engine_with_request(&db, "req-2").await;
    let (always_down, got) = receiver(vec![503; 10]);
    let (refuses, _) = receiver(vec![400]);
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        drop(l);
        url
    };
    // The three are one delivery (one request × recipient × event) retried: its attempts are
    // counted in all (issue 14), 3 then 3 + 1.
    for (url, attempts, error) in [
        (always_down, 3, "HTTP 503"),
        (refuses, 4, "HTTP 400"),
        (closed, 2, "connection refused or unreachable"),
    ] {
        let rows = processors::notify(
            &engine,
            &[webhook(&url, "a-shared-secret-of-32-characters", 3)],
            &notice("req-2", &["chat"]),
            today(),
        )
        .await
        .unwrap();
        assert_eq!(rows[0].status, "failed", "{url}");
        assert_eq!(rows[0].last_error.as_deref(), Some(error), "{url}");
        if error != "connection refused or unreachable" {
            assert_eq!(rows[0].attempts, attempts, "{url}");
        }
    }
    assert_eq!(
        got.lock().unwrap().len(),
        3,
        "retried up to the configured attempts"
    );
}

#[tokio::test]
async fn only_processors_holding_the_affected_purposes_are_notified() {
    let db = TestDb::sqlite().unwrap();
    let engine = engine_with_request(&db, "req-3").await;
    let (url, got) = receiver(vec![]);
    let rows = processors::notify(
        &engine,
        &[webhook(&url, "a-shared-secret-of-32-characters", 1)],
        &notice("req-3", &["blog_comments"]),
        today(),
    )
    .await
    .unwrap();
    assert!(rows.is_empty());
    assert!(got.lock().unwrap().is_empty());
}

#[test]
fn the_reference_processors_load_and_an_unconfigured_webhook_becomes_a_manual_task() {
    let policy = rightful_engine::policy::load_dir(&root().join("config/policy"))
        .unwrap()
        .policy;
    let (loaded, warnings) = processors::load(&root().join("config/processors"), &policy).unwrap();
    let names: BTreeSet<String> = loaded.iter().map(|p| p.recipient.to_string()).collect();
    assert_eq!(
        names,
        ["banks", "carriers", "paypal", "social_intents"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    if std::env::var("RIGHTFUL_PROCESSOR_SOCIAL_INTENTS_SECRET").is_err() {
        let chat = loaded
            .iter()
            .find(|p| p.recipient.as_ref() == "social_intents")
            .unwrap();
        assert!(matches!(chat.channel, Channel::Manual { .. }));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("RIGHTFUL_PROCESSOR_SOCIAL_INTENTS_SECRET")),
            "{warnings:?}"
        );
    }
    let dir = std::env::temp_dir().join(format!("rightful-proc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("x.toml"),
        "recipient = \"nsa\"\npurposes = [\"chat\"]\n[manual]\ndue_days = 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("y.toml"),
        "recipient = \"paypal\"\npurposes = [\"chat\"]\n[manual]\ndue_days = 1\n",
    )
    .unwrap();
    let err = processors::load(&dir, &policy).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("`nsa` is not a recipient"), "{err}");
    assert!(
        err.contains("purpose `chat` does not list `paypal`"),
        "{err}"
    );
}

// Issue 14: "Art. 19 webhooks are at-least-once with nothing to de-duplicate on (one request
// four times)". A webhook that fails, then a re-run of notify (as after a crash): both calls carry
// the same delivery id, in the `Rightful-Delivery-Id` header and the body; once acknowledged, a
// further re-run posts nothing. One notification row, one delivery row, on SQLite and PostgreSQL.
#[tokio::test]
async fn issue14_a_webhook_retried_or_notified_again_carries_one_delivery_id_per_request_recipient_event()
 {
    let mut dbs = vec![TestDb::sqlite().unwrap()];
    if let Some(pg) = TestDb::postgres() {
        dbs.push(pg.unwrap());
    }
    for db in &dbs {
        let engine = engine_with_request(db, "req-1").await;
        let (url, got) = receiver(vec![503, 200]);
        let secret = "a-shared-secret-of-32-characters";
        let p = [webhook(&url, secret, 1)];
        let first = processors::notify(&engine, &p, &notice("req-1", &["chat"]), today())
            .await
            .unwrap();
        assert_eq!(first[0].status, "failed");
        let second = processors::notify(&engine, &p, &notice("req-1", &["chat"]), today())
            .await
            .unwrap();
        assert_eq!(
            (second[0].status.as_str(), second[0].attempts),
            ("acknowledged", 2)
        );
        let third = processors::notify(&engine, &p, &notice("req-1", &["chat"]), today())
            .await
            .unwrap();
        assert_eq!(third[0].status, "acknowledged");
        let expected = processors::delivery_id("req-1", "social_intents", "erasure", "execution");
        {
            let received = got.lock().unwrap();
            assert_eq!(
                received.len(),
                2,
                "an acknowledged delivery was posted again"
            );
            for r in received.iter() {
                assert_eq!(
                    r.headers[&processors::DELIVERY_HEADER.to_ascii_lowercase()],
                    expected
                );
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["delivery_id"], expected.as_str());
                // The signature covers the body, delivery id included.
                let ts: i64 = r.headers[&TIMESTAMP_HEADER.to_ascii_lowercase()]
                    .parse()
                    .unwrap();
                assert_eq!(
                    r.headers[&SIGNATURE_HEADER.to_ascii_lowercase()],
                    processors::sign(&Secret::new(secret.as_bytes().to_vec()), ts, &r.body)
                );
            }
        }
        // Another event, request or occasion (an objection upheld later) is another delivery id.
        assert_ne!(
            processors::delivery_id("req-1", "social_intents", "erasure", "objection_upheld"),
            expected
        );
        assert_ne!(
            processors::delivery_id("req-1", "social_intents", "rectification", "execution"),
            expected
        );
        assert_ne!(
            processors::delivery_id("req-2", "social_intents", "erasure", "execution"),
            expected
        );
        let (rows, deliveries) = engine
            .store
            .run(|c| {
                Ok((
                    notification::for_request(c, "req-1")?,
                    rightful_store::models::outbox::deliveries(c, "req-1")?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (
                rows[0].id.as_str(),
                rows[0].status.as_str(),
                rows[0].attempts
            ),
            (expected.as_str(), "acknowledged", 2)
        );
        assert_eq!(deliveries.len(), 1);
        assert_eq!(
            (
                deliveries[0].id.as_str(),
                deliveries[0].status.as_str(),
                deliveries[0].attempts,
                deliveries[0].last_status
            ),
            (expected.as_str(), "acknowledged", 2, Some(200))
        );
    }
}
