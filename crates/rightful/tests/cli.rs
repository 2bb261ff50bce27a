//! The `rightful` binary as an operator uses it: real processes, real files.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs the binary from the repository root with a clean environment for Rightful's variables.
fn rightful(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
    cmd.args(args).current_dir(root());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
        cmd.env_remove(k);
    }
    cmd.output().expect("run rightful")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn policy_check_passes_on_the_reference_policy() {
    let out = rightful(&["policy", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("policy OK: Enlaps (9 purposes)"), "{text}");
}

#[test]
fn policy_check_reports_precise_errors_on_a_broken_copy_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("policy");
    copy_dir(&root().join("config/policy"), &dir);
    let edit = |file: &str, from: &str, to: &str| {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} lacks {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "purposes/chat.toml",
        "basis = \"consent\"",
        "basis = \"implied_consent\"",
    );
    edit(
        "purposes/blog_comments.toml",
        "withdrawal = ",
        "# withdrawal = ",
    );
    edit(
        "purposes/inquiries.toml",
        "keep_for = \"3 years\"\nfrom = \"request\"",
        "",
    );
    edit(
        "purposes/orders.toml",
        "{ id = \"company_name\", name = \"Company name\", mandatory = false }",
        "{ id = \"company_name\", name = \"Company name\" }",
    );
    let out = rightful(&["policy", "check", "--policy", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let expect_line = |file: &str, purpose: &str, field: &str| {
        let needle = format!("{file}: purpose `{purpose}`: field `{field}`:");
        assert!(
            text.lines().any(|l| l.contains(&needle)),
            "missing `{needle}` in:\n{text}"
        );
    };
    expect_line("purposes/chat.toml", "chat", "legal_basis[0].basis");
    expect_line("purposes/blog_comments.toml", "blog_comments", "withdrawal");
    expect_line("purposes/inquiries.toml", "inquiries", "retention.keep_for");
    expect_line(
        "purposes/orders.toml",
        "orders",
        "data.identification.fields.company_name.mandatory",
    );
    assert!(text.contains("4 error(s)"), "{text}");
}

#[test]
fn register_export_csv_lists_the_nine_purposes_with_bases_categories_recipients_and_retention() {
    let out = rightful(&["register", "export", "--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    let all = stdout(&out);
    for needle in [
        "Art. 6(1)(a)",
        "Art. 6(1)(b)",
        "Art. 6(1)(f)",
        "PayPal",
        "Social Intents",
        "12 months from collection",
        "until withdrawal",
    ] {
        assert!(all.contains(needle), "{needle}");
    }
}

#[test]
fn register_export_jsonld_to_a_file_parses_as_json_with_dpv_terms() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("register.jsonld");
    let out = rightful(&[
        "register",
        "export",
        "--format",
        "jsonld",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["@context"]["dpv"], "https://w3id.org/dpv#");
    assert!(
        doc["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["@type"] == "dpv:ROPA")
    );
}

#[test]
fn register_export_refuses_an_unknown_format() {
    let out = rightful(&["register", "export", "--format", "ods"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown register format `ods`"));
}

#[test]
fn audit_verify_reports_an_intact_trail_then_a_tampered_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_str().unwrap();
    let migrate = rightful(&["migrate", "--data-dir", data]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    // Write three entries through the library, then verify with the binary.
    let store = rightful_store::Store::open(
        &tmp.path().join("rightful.sqlite3").display().to_string(),
        1,
    )
    .unwrap();
    store
        .with_conn(|c| {
            let content = |n: u32| rightful_core::audit::EntryContent {
                at: chrono::Utc::now(),
                actor: "system".into(),
                action: "test.entry".into(),
                target: format!("t{n}"),
                reason: String::new(),
                details: serde_json::json!({}),
            };
            rightful_store::models::audit::append(c, (1..=3).map(content).collect())
        })
        .unwrap();
    let ok = rightful(&["audit", "verify", "--data-dir", data]);
    assert!(ok.status.success());
    assert!(
        stdout(&ok).contains("audit trail intact: 3 entries"),
        "{}",
        stdout(&ok)
    );
    store
        .with_conn(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET actor = 'dpo:mallory' WHERE seq = 2;")?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let bad = rightful(&["audit", "verify", "--data-dir", data]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stdout(&bad).contains("entry 2 was altered"),
        "{}",
        stdout(&bad)
    );
}

#[test]
fn a_missing_config_file_named_on_the_command_line_is_an_error() {
    let out = rightful(&["--config", "/nonexistent/rightful.toml", "policy", "check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rightful.toml"));
}

#[test]
fn staff_add_reads_the_password_from_standard_input_and_refuses_a_duplicate() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_str().unwrap();
    let add = |name: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rightful"))
            .args(["staff", "add", name, "--role", "dpo", "--data-dir", data])
            .current_dir(root())
            .env_remove("RIGHTFUL_STAFF_PASSWORD")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let first = add("alice");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout(&first).contains("added dpo account `alice`"));
    let again = add("alice");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// Issue 12 item 5: the operator lists, disables, enables, re-passwords and removes staff, each
/// change audited; an unknown name is an error.
#[test]
fn staff_accounts_are_listed_disabled_enabled_re_passworded_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
        cmd.args(args)
            .args(["--data-dir", data])
            .current_dir(root())
            .env("RIGHTFUL_STAFF_PASSWORD", "a long enough password");
        cmd.output().unwrap()
    };
    assert!(
        run(&["staff", "add", "alice", "--role", "dpo"])
            .status
            .success()
    );
    assert!(
        run(&["staff", "add", "bob", "--role", "auditor"])
            .status
            .success()
    );
    let list = stdout(&run(&["staff", "list"]));
    assert!(
        list.contains("alice\tdpo\tenabled") && list.contains("bob\tauditor\tenabled"),
        "{list}"
    );
    assert!(run(&["staff", "disable", "alice"]).status.success());
    assert!(stdout(&run(&["staff", "list"])).contains("alice\tdpo\tdisabled"));
    assert!(run(&["staff", "enable", "alice"]).status.success());
    assert!(run(&["staff", "passwd", "alice"]).status.success());
    assert!(run(&["staff", "remove", "bob"]).status.success());
    assert!(!stdout(&run(&["staff", "list"])).contains("bob"));
    let unknown = run(&["staff", "disable", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no staff account"));
    let trail = stdout(&rightful(&["audit", "verify", "--data-dir", data]));
    assert!(trail.contains("audit trail intact"), "{trail}");
    let mut settings = rightful_engine::settings::Settings::default();
    let r = root();
    settings.policy.dir = r.join("config/policy");
    settings.mail.templates_dir = r.join("config/templates");
    settings.stores.dir = r.join("config/stores");
    settings.stores.processors_dir = r.join("config/processors");
    settings.stores.demo_dir = r.join("demo");
    settings.storage.data_dir = tmp.path().to_owned();
    let engine = rightful_engine::Engine::open(settings).unwrap();
    let actions: Vec<String> = engine
        .store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap()
        .into_iter()
        .map(|e| e.content.action)
        .collect();
    for a in [
        "staff.disabled",
        "staff.enabled",
        "staff.password_changed",
        "staff.removed",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// A migrated engine database in `data` with `n` entries written through the library.
fn trail_of(data: &Path, n: u32) -> rightful_store::Store {
    let migrate = rightful(&["migrate", "--data-dir", data.to_str().unwrap()]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let store =
        rightful_store::Store::open(&data.join("rightful.sqlite3").display().to_string(), 1)
            .unwrap();
    append(&store, n);
    store
}

fn append(store: &rightful_store::Store, n: u32) {
    store
        .with_conn(|c| {
            let content = |k: u32| rightful_core::audit::EntryContent {
                at: chrono::Utc::now(),
                actor: "dpo:1".into(),
                action: "request.approved".into(),
                target: format!("req-{k}"),
                reason: String::new(),
                details: serde_json::json!({"k": k}),
            };
            rightful_store::models::audit::append(c, (1..=n).map(content).collect())
        })
        .unwrap();
}

fn head(store: &rightful_store::Store) -> (i64, String) {
    store
        .with_conn(rightful_store::models::audit::head)
        .unwrap()
}

fn sql(store: &rightful_store::Store, script: &str) {
    use diesel::connection::SimpleConnection;
    store.with_conn(|c| Ok(c.batch_execute(script)?)).unwrap();
}

/// The attacker of issue 12 item 10, with write access to the engine database and nothing else:
/// changes entry `seq`'s details, recomputes every later hash with the chain's own (unkeyed)
/// function, and moves `audit_head` to the new last hash. Returns the new head.
fn rewrite_from(store: &rightful_store::Store, seq: i64) -> (i64, String) {
    let mut entries = store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap();
    let mut script =
        String::from("DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_anchors_no_delete;");
    let mut prev = String::new();
    for e in &mut entries {
        if e.seq < seq {
            prev = e.hash.clone();
            continue;
        }
        if e.seq == seq {
            e.content.details = serde_json::json!({"k": "forged"});
        }
        e.prev_hash = prev.clone();
        e.hash = rightful_core::audit::entry_hash(&e.prev_hash, &e.content);
        prev = e.hash.clone();
        script.push_str(&format!(
            "UPDATE audit_entries SET details = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
            e.content.details.to_string().replace('\'', "''"),
            e.prev_hash,
            e.hash,
            e.seq
        ));
    }
    let last = entries.last().unwrap();
    script.push_str(&format!(
        "UPDATE audit_head SET seq = {}, hash = '{}' WHERE id = 1;",
        last.seq, last.hash
    ));
    sql(store, &script);
    (last.seq, last.hash.clone())
}

/// Rightful's public key as an auditor keeps it (`/.well-known/jwks.json`).
fn jwks_of(data: &Path, to: &Path) {
    let secret = std::fs::read(data.join("signing.key")).unwrap();
    let signer = rightful_engine::signing::Signer::from_secret(&secret).unwrap();
    std::fs::write(to, signer.jwks().to_string()).unwrap();
}

// Issue 12 item 10: a writer of the engine database rewrites an old entry and recomputes every
// later hash; the chain alone calls that intact, the signed head does not, and an anchor signed
// with another key is refused.
#[test]
fn a_trail_rewritten_with_recomputed_hashes_passes_the_chain_but_not_its_signed_head() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let store = trail_of(&data, 5);
    let anchored = rightful(&["audit", "anchor", "--data-dir", d]);
    assert!(
        anchored.status.success(),
        "{}{}",
        stdout(&anchored),
        String::from_utf8_lossy(&anchored.stderr)
    );
    let (seq, hash) = head(&store);
    assert!(
        stdout(&anchored).contains(&format!("anchored entry {seq} ({hash})")),
        "{}",
        stdout(&anchored)
    );
    // The auditor exports the anchors and keeps them, with Rightful's public key, elsewhere.
    let kept = tmp.path().join("kept-anchors.jsonl");
    let export = rightful(&[
        "audit",
        "anchors",
        "--out",
        kept.to_str().unwrap(),
        "--data-dir",
        d,
    ]);
    assert!(export.status.success());
    assert_eq!(std::fs::read_to_string(&kept).unwrap().lines().count(), 1);
    let jwks = tmp.path().join("jwks.json");
    jwks_of(&data, &jwks);
    let kept_s = kept.to_str().unwrap();
    let before = rightful(&["audit", "verify", "--anchor", kept_s, "--data-dir", d]);
    assert!(before.status.success(), "{}", stdout(&before));
    assert!(
        stdout(&before).contains("checked against the signed head of")
            && stdout(&before).contains(&format!("(entry {seq})")),
        "{}",
        stdout(&before)
    );

    // The attack: entry 2 rewritten, hashes recomputed, head moved; the anchors the engine kept
    // in its database are deleted, and so is its local copy (on SQLite the database and the data
    // directory share a disk: whoever writes one writes the other).
    let (new_seq, new_hash) = rewrite_from(&store, 2);
    assert_eq!(new_seq, seq);
    assert_ne!(new_hash, hash);
    sql(&store, "DELETE FROM audit_anchors;");
    std::fs::remove_file(data.join("audit/anchors.jsonl")).unwrap();

    // The weakness, documented: the chain alone says intact.
    let chain_only = rightful(&["audit", "verify", "--data-dir", d]);
    assert!(chain_only.status.success(), "{}", stdout(&chain_only));
    assert!(
        stdout(&chain_only).contains("audit trail intact"),
        "{}",
        stdout(&chain_only)
    );
    // The signed head the auditor kept catches it, with the data directory's key or the JWKS.
    let expected = format!("entry {seq} differs from the signed head of");
    for args in [
        vec!["audit", "verify", "--anchor", kept_s, "--data-dir", d],
        vec![
            "audit",
            "verify",
            "--anchor",
            kept_s,
            "--key",
            jwks.to_str().unwrap(),
            "--data-dir",
            d,
        ],
    ] {
        let caught = rightful(&args);
        assert_eq!(caught.status.code(), Some(1), "{}", stdout(&caught));
        let text = stdout(&caught);
        assert!(
            text.contains(&expected) && text.contains("the trail was rewritten"),
            "{text}"
        );
    }

    // The attacker signs the rewritten head with a key of their own: refused.
    let mallory =
        rightful_engine::signing::Signer::from_secret(b"mallory's key, not Rightful's").unwrap();
    let forged_jws = mallory
        .sign(&rightful_core::audit::AnchorClaims::new(
            new_seq,
            &new_hash,
            chrono::Utc::now(),
        ))
        .unwrap();
    let forged = tmp.path().join("forged.jws");
    std::fs::write(&forged, format!("{forged_jws}\n")).unwrap();
    for key in [None, Some(jwks.to_str().unwrap())] {
        let mut args = vec!["audit", "verify", "--anchor", forged.to_str().unwrap()];
        if let Some(k) = key {
            args.extend(["--key", k]);
        }
        args.extend(["--data-dir", d]);
        let refused = rightful(&args);
        assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
        assert!(
            stdout(&refused).contains("is not signed by Rightful's key: refused"),
            "{}",
            stdout(&refused)
        );
    }
    // Slipped into the engine's own table, the forged anchor is refused there too.
    sql(
        &store,
        &format!(
            "INSERT INTO audit_anchors (seq, hash, signed_at, jws) VALUES ({new_seq}, '{new_hash}', '2026-12-01 00:00:00', '{forged_jws}');"
        ),
    );
    let table = rightful(&["audit", "verify", "--data-dir", d]);
    assert_eq!(table.status.code(), Some(1), "{}", stdout(&table));
    assert!(
        stdout(&table).contains("the newest anchor in the database"),
        "{}",
        stdout(&table)
    );
}

// Issue 12 item 10: entries removed from the end and the head moved back: the chain alone is
// intact, the signed head is not, and the engine refuses to sign the shortened trail.
#[test]
fn a_trail_cut_back_behind_its_signed_head_is_caught_and_not_signed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let store = trail_of(&data, 5);
    assert!(
        rightful(&["audit", "anchor", "--data-dir", d])
            .status
            .success()
    );
    let (anchored_seq, _) = head(&store);
    let kept = tmp.path().join("kept.jsonl");
    std::fs::copy(data.join("audit/anchors.jsonl"), &kept).unwrap();
    let kept_s = kept.to_str().unwrap();
    // The trail grows honestly after its signed head: still fine.
    append(&store, 2);
    let grown = rightful(&["audit", "verify", "--anchor", kept_s, "--data-dir", d]);
    assert!(grown.status.success(), "{}", stdout(&grown));
    // The attack: the last entries deleted and the head moved back past the signed one.
    let keep = anchored_seq - 2;
    let keep_hash = store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap()
        .into_iter()
        .find(|e| e.seq == keep)
        .unwrap()
        .hash;
    sql(
        &store,
        &format!(
            "DROP TRIGGER audit_entries_no_delete; DELETE FROM audit_entries WHERE seq > {keep}; UPDATE audit_head SET seq = {keep}, hash = '{keep_hash}' WHERE id = 1;"
        ),
    );
    let chain_only = store
        .with_conn(rightful_store::models::audit::verify)
        .unwrap();
    assert!(chain_only.ok(), "{:?}", chain_only.problems);
    let expected = format!("the trail ends at entry {keep}, before the signed head of");
    for args in [
        vec!["audit", "verify", "--anchor", kept_s, "--data-dir", d],
        // The engine's own anchors (table and file) catch it as well.
        vec!["audit", "verify", "--data-dir", d],
    ] {
        let caught = rightful(&args);
        assert_eq!(caught.status.code(), Some(1), "{}", stdout(&caught));
        assert!(stdout(&caught).contains(&expected), "{}", stdout(&caught));
    }
    let again = rightful(&["audit", "anchor", "--data-dir", d]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(
        stdout(&again).contains("NOT anchored"),
        "{}",
        stdout(&again)
    );
}

/// A one-shot HTTP receiver: answers `200` to the first POST and returns its body.
fn receive_one() -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/anchors", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

// Issue 12 item 10: the server signs the head on its own schedule, into a file only its user can
// read, and sends the anchor to the outside address.
#[test]
fn the_server_signs_the_head_on_its_schedule_into_a_private_file_and_sends_it_out() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = root();
    let (url, received) = receive_one();
    let config = tmp.path().join("rightful.toml");
    std::fs::create_dir_all(tmp.path().join("stores")).unwrap();
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{data}\"\n[policy]\ndir = \"{r}/config/policy\"\n[stores]\ndir = \"{stores}\"\n[mail]\ntemplates_dir = \"{r}/config/templates\"\n[identity]\nagents_dir = \"{r}/config/agents\"\n[schedule]\nreminders = \"\"\nretention = \"\"\n[execution]\nworkers = 0\n[audit]\nanchor_every_secs = 1\nanchor_url = \"{url}\"\nallow_plain_http_anchor_url = true\n",
            data = data.display(),
            r = r.display(),
            stores = tmp.path().join("stores").display(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rightful"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(&r)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RIGHTFUL_")) {
        cmd.env_remove(k);
    }
    let mut server = cmd.spawn().unwrap();
    let file = data.join("audit/anchors.jsonl");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.ends_with('\n')) {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            server.kill().unwrap();
            panic!("the server wrote no anchor");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let body = received.join().unwrap();
    let store =
        rightful_store::Store::open(&data.join("rightful.sqlite3").display().to_string(), 1)
            .unwrap();
    // The delivery is recorded once the receiver answered.
    let started = std::time::Instant::now();
    let rows = loop {
        let rows = store
            .with_conn(rightful_store::models::audit_anchor::all)
            .unwrap();
        if rows.iter().all(|r| r.sent_at.is_some()) || started.elapsed().as_secs() > 20 {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    // The line written is the anchor sent out, and it is the engine's head (the start-up entry).
    let line = std::fs::read_to_string(&file).unwrap();
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    let kept: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(sent["jws"], kept["jws"]);
    assert_eq!(sent["typ"], "rightful.audit_anchor");
    let (seq, _) = head(&store);
    assert_eq!(kept["seq"], seq);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].sent_at.is_some(), "the delivery was not recorded");
    drop(store);
    let verify = rightful(&[
        "audit",
        "verify",
        "--anchor",
        file.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(verify.status.success(), "{}", stdout(&verify));
}
