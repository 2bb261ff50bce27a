//! Issue 13 item 7: `rightful backup` and `rightful restore` as an operator runs them — real
//! processes, real files: a backup taken, the database removed or damaged, restored, the trail
//! verified intact; a tampered backup refused; an older backup reported as a cut-back trail.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

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

/// Appends `n` entries to the trail of the SQLite engine database in `data`.
fn append(data: &Path, n: u32) {
    let store =
        rightful_store::Store::open(&data.join("rightful.sqlite3").display().to_string(), 1)
            .unwrap();
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

/// A data directory with a migrated database, `n` entries and the engine's own `policy.loaded`
/// (`n + 1` in all), its head signed; returns `(tempdir, data dir)`.
fn installed(n: u32) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    assert!(rightful(&["migrate", "--data-dir", d]).status.success());
    append(&data, n);
    let anchored = rightful(&["audit", "anchor", "--data-dir", d]);
    assert!(anchored.status.success(), "{}", stdout(&anchored));
    (tmp, data)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// Issue 13 item 7: a backup taken (a private file), the database removed, then damaged; each time
// restored, and the trail verified intact with every entry.
#[test]
fn a_backup_restores_a_removed_or_damaged_database_with_its_trail_intact() {
    let (tmp, data) = installed(4);
    let d = data.to_str().unwrap();
    let db = data.join("rightful.sqlite3");
    let backup = tmp.path().join("engine.backup");
    let b = backup.to_str().unwrap();
    let taken = rightful(&["backup", "--out", b, "--data-dir", d]);
    assert!(taken.status.success(), "{}", stdout(&taken));
    assert!(
        stdout(&taken).contains("trail intact, checked against the signed head"),
        "{}",
        stdout(&taken)
    );
    assert_eq!(mode(&backup), 0o600);
    // A backup never overwrites a file.
    let again = rightful(&["backup", "--out", b, "--data-dir", d]);
    assert_eq!(again.status.code(), Some(2));

    // Removed.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let restored = rightful(&["restore", "--from", b, "--data-dir", d]);
    assert!(restored.status.success(), "{}", stdout(&restored));
    assert!(
        stdout(&restored).contains("5 audit entries, trail intact"),
        "{}",
        stdout(&restored)
    );
    assert_eq!(mode(&db), 0o600);
    let verified = rightful(&["audit", "verify", "--data-dir", d]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(stdout(&verified).contains("audit trail intact: 5 entries"));

    // Damaged: half the file overwritten.
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[len / 4..].iter_mut().for_each(|b| *b = 0x5a);
    std::fs::write(&db, bytes).unwrap();
    let broken = rightful(&["audit", "verify", "--data-dir", d]);
    assert!(!broken.status.success());
    let restored = rightful(&["restore", "--from", b, "--data-dir", d]);
    assert!(restored.status.success(), "{}", stdout(&restored));
    let verified = rightful(&["audit", "verify", "--data-dir", d]);
    assert!(stdout(&verified).contains("audit trail intact: 5 entries"));
    // The engine still works on it: it appends and signs.
    append(&data, 1);
    let anchored = rightful(&["audit", "anchor", "--data-dir", d]);
    assert!(anchored.status.success(), "{}", stdout(&anchored));
}

// Issue 13 item 7: a backup whose trail was altered (triggers dropped, an entry changed) is
// reported broken and refused; the database in place is left as it was.
#[test]
fn a_tampered_backup_is_reported_broken_and_nothing_is_restored() {
    let (tmp, data) = installed(3);
    let d = data.to_str().unwrap();
    let backup = tmp.path().join("engine.backup");
    let b = backup.to_str().unwrap();
    assert!(
        rightful(&["backup", "--out", b, "--data-dir", d])
            .status
            .success()
    );
    {
        use diesel::Connection as _;
        use diesel::connection::SimpleConnection as _;
        let mut c = diesel::SqliteConnection::establish(b).unwrap();
        c.batch_execute(
            "DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET actor = 'dpo:mallory' WHERE seq = 2;",
        )
        .unwrap();
    }
    append(&data, 2); // the live database moved on: it must stay as it is
    let refused = rightful(&["restore", "--from", b, "--data-dir", d]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let text = stdout(&refused);
    assert!(text.contains("is broken: nothing was restored"), "{text}");
    assert!(text.contains("entry 2 was altered"), "{text}");
    let verified = rightful(&["audit", "verify", "--data-dir", d]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(stdout(&verified).contains("audit trail intact: 6 entries"));
    assert!(!data.join("rightful.sqlite3.restoring").exists());

    // Not a database at all.
    let junk = tmp.path().join("junk");
    std::fs::write(&junk, b"not a database").unwrap();
    let refused = rightful(&["restore", "--from", junk.to_str().unwrap(), "--data-dir", d]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stdout(&refused).contains("is broken"),
        "{}",
        stdout(&refused)
    );
}

// Issue 13 item 7 (and docs/AUDIT.md): a backup older than the newest signed head is restored,
// and reported as what it is — signed entries lost — with exit 1.
#[test]
fn a_backup_older_than_the_newest_signed_head_is_restored_and_reported_cut_back() {
    let (tmp, data) = installed(3);
    let d = data.to_str().unwrap();
    let backup = tmp.path().join("engine.backup");
    let b = backup.to_str().unwrap();
    assert!(
        rightful(&["backup", "--out", b, "--data-dir", d])
            .status
            .success()
    );
    append(&data, 2);
    assert!(
        rightful(&["audit", "anchor", "--data-dir", d])
            .status
            .success()
    );
    let restored = rightful(&["restore", "--from", b, "--data-dir", d]);
    assert_eq!(restored.status.code(), Some(1), "{}", stdout(&restored));
    let text = stdout(&restored);
    assert!(text.contains("does NOT verify (4 entries"), "{text}");
    assert!(text.contains("before the signed head"), "{text}");
    assert!(text.contains("entries 5..=6 were signed"), "{text}");
    let verified = rightful(&["audit", "verify", "--data-dir", d]);
    assert_eq!(verified.status.code(), Some(1));
}
