//! Issue 12: personal data never reaches the logs or the audit trail. A real `rightful serve`
//! runs with the logs at `debug`, once as text and once as JSON, on the demo site (SQLite
//! files); the whole flow is driven over HTTP — intake, the e-mail code, the DPO's sign-in and
//! approval, access and erasure carried out, the results downloaded, a wrong code, a bad body —
//! and then the logs and the audit trail's export (JSON and CSV) are searched for every e-mail
//! address, name, client address, code, token and password used: none may appear.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use rightful_connectors::sql::Dialect;
use rightful_connectors::testing::TestSite;
use rightful_engine::Engine;
use rightful_engine::settings::Settings;
use serde_json::{Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";
/// The client's address, as a trusted proxy on loopback reports it.
const CLIENT_IP: &str = "198.51.100.77";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

fn serve(config: &Path, log: &Path) -> Server {
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .current_dir(root())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(out);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_") || k == "RUST_LOG") {
        cmd.env_remove(k);
    }
    cmd.env("RUST_LOG", "debug");
    let mut child = cmd.spawn().expect("start rightful serve");
    // The first line names the address.
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    while !seen.contains('\n') {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no address printed"
        );
        if stdout.read(&mut byte).unwrap() == 0 {
            panic!("the server stopped: {seen}");
        }
        seen.push(byte[0] as char);
    }
    let base = seen
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    Server {
        child,
        base,
        log: log.to_owned(),
    }
}

struct Flow {
    secrets: Vec<String>,
    codes: Vec<String>,
    logs: String,
    audit: String,
}

fn code_in(message: &str) -> String {
    let marker = "enter this code: ";
    let at = message.find(marker).unwrap() + marker.len();
    message[at..at + 6].to_owned()
}

fn outbox_code(dir: &Path, id: &str) -> String {
    let started = Instant::now();
    loop {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files.iter().rev() {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).replace("=\r\n", "");
            if text.contains(id) && text.contains("enter this code") {
                return code_in(&text);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no code mailed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn run_flow(format: &str) -> Flow {
    let tmp = tempfile::tempdir().unwrap();
    let mut urls = String::new();
    let mut sites = Vec::new();
    let mut settings = Settings::default();
    settings.policy.dir = root().join("config/policy");
    settings.stores.dir = root().join("config/stores");
    let policy = rightful_engine::policy::load_dir(&settings.policy.dir)
        .unwrap()
        .policy;
    for mut store in rightful_engine::stores::load(&settings, &policy).unwrap() {
        let site = TestSite::new(Dialect::Sqlite, "SELECT 1").unwrap().unwrap();
        store.url = site.url.clone();
        let opts = rightful_engine::demo::SeedOptions {
            scale: 20,
            logs_per_subject: 2,
            chunk: 1000,
            reset: false,
            if_missing: false,
        };
        rightful_engine::demo::seed_store(&store, &root().join("demo"), &opts, &mut |_, _| {})
            .unwrap();
        urls.push_str(&format!("{} = \"{}\"\n", store.map.name, site.url));
        sites.push(site);
    }
    let config = tmp.path().join("rightful.toml");
    let r = root();
    let data = tmp.path().join("data");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{data}\"\n[policy]\ndir = \"{r}/config/policy\"\n[stores]\ndir = \"{r}/config/stores\"\nprocessors_dir = \"{r}/config/processors\"\ndemo_dir = \"{r}/demo\"\n[stores.urls]\n{urls}[mail]\ntemplates_dir = \"{r}/config/templates\"\n[identity]\nagents_dir = \"{r}/config/agents\"\n[schedule]\nreminders = \"\"\nretention = \"\"\n[execution]\nworkers = 2\npoll_ms = 20\n[log]\nformat = \"{format}\"\n[limits]\ntrusted_proxies = [\"127.0.0.1\"]\n",
            data = data.display(),
            r = r.display(),
        ),
    )
    .unwrap();
    {
        let engine = Engine::open(Settings::load(Some(&config)).unwrap()).unwrap();
        rightful_engine::auth::add_staff(
            &engine,
            "dpo1",
            rightful_engine::auth::Role::Dpo,
            PASSWORD,
        )
        .unwrap();
    }
    let server = serve(&config, &tmp.path().join("server.log"));
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let outbox = data.join("outbox");
    let mut secrets = vec![PASSWORD.to_owned(), CLIENT_IP.to_owned()];
    let mut codes = Vec::new();
    // The subjects of the demo site: user3 asks for access, user5 for erasure.
    let mut ids = Vec::new();
    for (n, kind) in [(3, "access"), (5, "erasure")] {
        let email = format!("user{n}@example.test");
        let (first, last) = (format!("Firstname{n}x"), format!("Lastname{n}y"));
        let res: Value = http
            .post(format!("{base}/v1/requests"))
            .header("X-Forwarded-For", CLIENT_IP)
            .json(&json!({"type": kind, "email": email, "first_name": first, "last_name": last}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (id, token) = (
            res["id"].as_str().unwrap().to_owned(),
            res["token"].as_str().unwrap().to_owned(),
        );
        let code = outbox_code(&outbox, &id);
        // A wrong code first, then the right one.
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        for c in [&wrong, &code] {
            http.post(format!("{base}/v1/requests/{id}/verify"))
                .header("Authorization", format!("Request {token}"))
                .header("X-Forwarded-For", CLIENT_IP)
                .json(&json!({"code": c}))
                .send()
                .await
                .unwrap();
        }
        secrets.extend([email, first, last, token.clone()]);
        codes.extend([code, wrong]);
        ids.push((id, token));
    }
    // A body with an address in a wrong place, and a bad staff sign-in.
    http.post(format!("{base}/v1/requests"))
        .json(&json!({"type": "access", "email": 7, "first_name": "user9@example.test"}))
        .send()
        .await
        .unwrap();
    secrets.push("user9@example.test".into());
    http.post(format!("{base}/v1/auth/token"))
        .json(&json!({"username": "dpo1", "password": "wrong password here"}))
        .send()
        .await
        .unwrap();
    secrets.push("wrong password here".into());
    let staff: Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&json!({"username": "dpo1", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = staff["access_token"].as_str().unwrap().to_owned();
    secrets.push(bearer.clone());
    for (id, _) in &ids {
        let res = http
            .post(format!("{base}/v1/requests/{id}/decision"))
            .bearer_auth(&bearer)
            .json(&json!({"decision": "approve"}))
            .send()
            .await
            .unwrap();
        if res.status() != 200 {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            panic!("approval: {} {tail:#?}", res.text().await.unwrap());
        }
    }
    for (id, token) in &ids {
        let started = Instant::now();
        loop {
            let st: Value = http
                .get(format!("{base}/v1/requests/{id}/status"))
                .header("Authorization", format!("Request {token}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if st["status"] == "completed" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not completed: {st}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let zip = http
            .get(format!("{base}/v1/requests/{id}/result"))
            .header("Authorization", format!("Request {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(zip.status(), 200);
        let bytes = zip.bytes().await.unwrap();
        assert!(!bytes.is_empty());
    }
    let mut audit = String::new();
    for format in ["json", "csv"] {
        audit.push_str(
            &http
                .get(format!("{base}/v1/audit?format={format}"))
                .bearer_auth(&bearer)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let logs = std::fs::read_to_string(&server.log).unwrap();
    drop(sites);
    Flow {
        secrets,
        codes,
        logs,
        audit,
    }
}

/// Where `code` stands alone (not inside a longer number, nor the fraction of a timestamp or a
/// duration).
fn standalone(haystack: &str, code: &str) -> Vec<String> {
    let b = haystack.as_bytes();
    haystack
        .match_indices(code)
        .filter(|(i, _)| {
            let before = i.checked_sub(1).map(|j| b[j]);
            let after = b.get(i + code.len()).copied();
            !before.is_some_and(|c| c.is_ascii_digit() || c == b'.')
                && !after.is_some_and(|c| c.is_ascii_digit())
        })
        .map(|(i, _)| haystack[i.saturating_sub(60)..(i + 66).min(haystack.len())].to_owned())
        .collect()
}

fn check(flow: &Flow, format: &str) {
    assert!(
        flow.logs.lines().count() > 20,
        "the {format} logs were written at debug: {}",
        flow.logs
    );
    for (what, text) in [("logs", &flow.logs), ("audit trail", &flow.audit)] {
        let lower = text.to_lowercase();
        for s in &flow.secrets {
            assert!(
                !lower.contains(&s.to_lowercase()),
                "{format}: the {what} hold `{s}`"
            );
        }
        for c in &flow.codes {
            let hits = standalone(text, c);
            assert!(
                hits.is_empty(),
                "{format}: the {what} hold a code: {hits:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_debug_logs_of_either_format_nor_in_the_audit_export() {
    for format in ["text", "json"] {
        let flow = run_flow(format).await;
        check(&flow, format);
    }
}
