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
