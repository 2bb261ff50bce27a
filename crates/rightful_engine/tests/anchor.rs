//! Anchors sent to `[audit] anchor_url` (issue 12 item 10): a failed delivery blocks nothing and
//! is tried again at the next anchor, oldest first; a plain `http://` address is refused unless
//! allowed for tests.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use rightful_engine::Engine;
use rightful_engine::anchor::{self, Outcome};
use rightful_engine::settings::Settings;
use rightful_store::models::{audit, audit_anchor};
use rightful_store::testing::TestDb;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A receiver answering each POST with the next status of `script` (then 200); returns the URL and
/// the bodies received.
fn receiver(script: Vec<u16>) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/anchors", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let log = got.clone();
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim_end().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            log.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let status = script.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

fn engine(db: &TestDb, data: &Path, url: &str, allow_http: bool) -> Engine {
    let mut settings = Settings::default();
    settings.policy.dir = root().join("config/policy");
    settings.mail.templates_dir = root().join("config/templates");
    settings.stores.dir = root().join("config/stores");
    settings.storage.database_url = db.url.clone();
    settings.storage.data_dir = data.to_path_buf();
    settings.audit.anchor_url = url.to_owned();
    settings.audit.allow_plain_http_anchor_url = allow_http;
    Engine::open(settings).unwrap()
}

async fn add_entry(engine: &Engine) {
    engine
        .store
        .run(|c| {
            audit::append(
                c,
                vec![rightful_core::audit::EntryContent {
                    at: chrono::Utc::now(),
                    actor: "system".into(),
                    action: "test.entry".into(),
                    target: "t".into(),
                    reason: String::new(),
                    details: serde_json::json!({}),
                }],
            )
        })
        .await
        .unwrap();
}

fn sent(engine: &Engine) -> Vec<(i64, bool)> {
    engine
        .store
        .with_conn(audit_anchor::all)
        .unwrap()
        .iter()
        .map(|r| (r.seq, r.sent_at.is_some()))
        .collect()
}

// Issue 12 item 10: the outside copy survives a receiver that is down.
#[tokio::test]
async fn a_failed_delivery_is_tried_again_at_the_next_anchor_oldest_first() {
    let db = TestDb::postgres().unwrap_or_else(TestDb::sqlite).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (url, got) = receiver(vec![503]);
    let engine = engine(&db, data.path(), &url, true);
    let Outcome::Anchored(first) = anchor::run_once(&engine).await.unwrap() else {
        panic!("not anchored")
    };
    // Refused by the receiver: the anchor is kept and written all the same.
    assert_eq!(got.lock().unwrap().len(), 1);
    assert_eq!(sent(&engine), vec![(first.seq, false)]);
    assert!(
        std::fs::read_to_string(anchor::file_path(&engine.settings))
            .unwrap()
            .contains(&first.jws)
    );
    // Nothing moved: nothing new is signed, and the pending one is tried again.
    assert!(matches!(
        anchor::run_once(&engine).await.unwrap(),
        Outcome::Unchanged { .. }
    ));
    assert_eq!(sent(&engine), vec![(first.seq, true)]);
    add_entry(&engine).await;
    let Outcome::Anchored(second) = anchor::run_once(&engine).await.unwrap() else {
        panic!("not anchored")
    };
    assert_eq!(sent(&engine), vec![(first.seq, true), (second.seq, true)]);
    let bodies: Vec<i64> = got
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(bodies, vec![first.seq, first.seq, second.seq]);
    assert_eq!(got.lock().unwrap()[2]["jws"], second.jws);
}

#[tokio::test]
async fn anchors_are_never_sent_to_a_plain_http_address_unless_allowed() {
    let db = TestDb::sqlite().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (url, got) = receiver(vec![]);
    let engine = engine(&db, data.path(), &url, false);
    assert!(matches!(
        anchor::run_once(&engine).await.unwrap(),
        Outcome::Anchored(_)
    ));
    assert_eq!(anchor::deliver(&engine).await.unwrap(), 0);
    assert!(got.lock().unwrap().is_empty());
    assert!(sent(&engine).iter().all(|(_, s)| !s));
}
