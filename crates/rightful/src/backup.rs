//! `rightful backup` and `rightful restore` (issue 13 item 7; docs/OPERATIONS.md): a consistent
//! copy of the embedded SQLite engine database (`VACUUM INTO`), and its restore, each followed by
//! the audit trail's verification. The copy is a private file (`0600`): it holds everything the
//! engine database holds. PostgreSQL is backed up with `pg_dump` (documented).

use rightful_engine::EngineError;
use rightful_engine::anchor::{Against, Key, Report};
use rightful_engine::settings::Settings;
use rightful_store::{Backend, DbConn};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The SQLite file of the engine database, or `None` (with the message printed) on PostgreSQL.
fn sqlite_path(s: &Settings, verb: &str) -> Result<Option<PathBuf>, EngineError> {
    let url = s.database_url()?;
    if Backend::of(&url) == Backend::Postgres {
        eprintln!(
            "error: the engine database is PostgreSQL: {verb} it with pg_dump / pg_restore, then run `rightful audit verify` (docs/OPERATIONS.md)"
        );
        return Ok(None);
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(&url);
    Ok(Some(PathBuf::from(path)))
}

/// Opens a SQLite file as it is: no migration, no change of journal mode.
fn open_plain(path: &Path) -> Result<DbConn, EngineError> {
    use diesel::Connection as _;
    let c = diesel::SqliteConnection::establish(&path.display().to_string()).map_err(|e| {
        EngineError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    Ok(DbConn::Sqlite(c))
}

/// `PRAGMA integrity_check`: `None` when the file is a sound SQLite database.
#[expect(
    clippy::disallowed_methods,
    reason = "a constant PRAGMA: no value, no identifier"
)]
fn integrity(conn: &mut DbConn) -> Option<String> {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    match diesel::sql_query("PRAGMA integrity_check").load::<Row>(conn) {
        Ok(rows) if rows.len() == 1 && rows[0].integrity_check == "ok" => None,
        Ok(_) => Some("the file is damaged (SQLite integrity check failed)".into()),
        Err(_) => Some("the file is not a Rightful engine database".into()),
    }
}

/// The trail of `conn` checked against the engine's newest signed head (with the key in the data
/// directory), or its chain only when there is no key.
fn verify(s: &Settings, conn: &mut DbConn) -> Result<Report, EngineError> {
    let signer = rightful_engine::secrets::load_existing(
        s,
        rightful_engine::signing::SIGNING_KEY_VAR,
        "signing.key",
    )
    .map(|secret| rightful_engine::signing::Signer::from_secret(&secret))
    .transpose()?;
    match &signer {
        Some(signer) => rightful_engine::anchor::verify(
            conn,
            Key::Signer(signer),
            &Against::Known(rightful_engine::anchor::file_path(s)),
        ),
        None => Ok(Report {
            verification: rightful_store::models::audit::verify(conn)?,
            anchor: None,
            refused: Vec::new(),
        }),
    }
}

fn problems(report: &Report) -> Vec<String> {
    report
        .refused
        .iter()
        .cloned()
        .chain(report.verification.problems.iter().map(ToString::to_string))
        .collect()
}

fn against(report: &Report) -> String {
    match &report.anchor {
        Some(a) => format!(
            "the signed head of {} (entry {})",
            a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            a.seq
        ),
        None => "no signed head (the chain only)".to_owned(),
    }
}

/// `VACUUM INTO ?`: a consistent copy of the whole database, taken in one read transaction
/// while others may write.
#[expect(
    clippy::disallowed_methods,
    reason = "SQLite's own statement; the target path is bound, not spliced"
)]
fn vacuum_into(c: &mut DbConn, target: String) -> Result<(), rightful_store::StoreError> {
    use diesel::RunQueryDsl as _;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(target)
        .execute(c)?;
    Ok(())
}

/// `rightful backup --out FILE`.
pub(crate) fn backup(s: &Settings, out: &Path) -> Result<ExitCode, EngineError> {
    let Some(db) = sqlite_path(s, "back up")? else {
        return Ok(ExitCode::from(2));
    };
    if out.exists() {
        eprintln!(
            "error: {} exists: name a new file (a backup never overwrites one)",
            out.display()
        );
        return Ok(ExitCode::from(2));
    }
    // Opening through the store migrates the database first, so the copy has today's schema.
    let store = rightful_store::Store::open(&db.display().to_string(), 1)?;
    // VACUUM INTO fills an empty file: create it private first, so the copy is never readable
    // by others, not even for a moment.
    rightful_store::private::create(out).map_err(io(out))?;
    let target = out.display().to_string();
    let copied = store.with_conn(move |c| vacuum_into(c, target));
    drop(store);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(out);
        return Err(e.into());
    }
    rightful_store::private::tighten(out).map_err(io(out))?;
    let mut conn = open_plain(out)?;
    if let Some(why) = integrity(&mut conn) {
        out!("backup NOT usable: {why}");
        return Ok(ExitCode::FAILURE);
    }
    let report = verify(s, &mut conn)?;
    let v = &report.verification;
    if report.ok() {
        out!(
            "backup written to {} (0600): {} audit entries, trail intact, checked against {}",
            out.display(),
            v.entries,
            against(&report)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        out!(
            "backup written to {} (0600), but its audit trail is NOT intact ({} entries, checked against {}):",
            out.display(),
            v.entries,
            against(&report)
        );
        for p in problems(&report) {
            out!("  - {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}

/// `rightful restore --from FILE`: the backup is checked (a sound SQLite file whose trail is
/// intact) on a private copy beside the database, which then replaces it; the restored trail is
/// verified against the newest signed head the engine knows of.
pub(crate) fn restore(s: &Settings, from: &Path) -> Result<ExitCode, EngineError> {
    let Some(db) = sqlite_path(s, "restore")? else {
        return Ok(ExitCode::from(2));
    };
    if !from.is_file() {
        eprintln!("error: {}: no such file", from.display());
        return Ok(ExitCode::from(2));
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        rightful_store::private::dir(dir).map_err(io(dir))?;
    }
    let staging = PathBuf::from(format!("{}.restoring", db.display()));
    let companions = |p: &Path| {
        ["-wal", "-shm", "-journal"].map(|x| PathBuf::from(format!("{}{x}", p.display())))
    };
    for p in std::iter::once(staging.clone()).chain(companions(&staging)) {
        let _ = std::fs::remove_file(p);
    }
    {
        let mut src = std::fs::File::open(from).map_err(io(from))?;
        let mut dst = rightful_store::private::create(&staging).map_err(io(&staging))?;
        std::io::copy(&mut src, &mut dst).map_err(io(&staging))?;
        dst.sync_all().map_err(io(&staging))?;
    }
    let refuse = |why: Vec<String>| {
        for p in std::iter::once(staging.clone()).chain(companions(&staging)) {
            let _ = std::fs::remove_file(p);
        }
        out!(
            "backup {} is broken: nothing was restored, the database is as it was:",
            from.display()
        );
        for p in why {
            out!("  - {p}");
        }
        Ok(ExitCode::FAILURE)
    };
    let report = {
        let mut conn = open_plain(&staging)?;
        if let Some(why) = integrity(&mut conn) {
            return refuse(vec![why]);
        }
        match verify(s, &mut conn) {
            Ok(r) => r,
            Err(_) => {
                return refuse(vec![
                    "its audit trail cannot be read: not a Rightful engine database".into(),
                ]);
            }
        }
    };
    // A trail that ends before the newest signed head is what any backup older than that head
    // looks like: it is restored, and said. Anything else (an entry altered, deleted, inserted,
    // a rewritten head, an anchor not signed by Rightful) means the backup was tampered with.
    let tampered: Vec<String> = report
        .refused
        .iter()
        .cloned()
        .chain(
            report
                .verification
                .problems
                .iter()
                .filter(|p| !matches!(p, rightful_core::audit::Tamper::BehindAnchor { .. }))
                .map(ToString::to_string),
        )
        .collect();
    if !tampered.is_empty() {
        return refuse(tampered);
    }
    for p in companions(&db) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p)(e)),
        }
    }
    std::fs::rename(&staging, &db).map_err(io(&db))?;
    // The restored database, opened as the server will open it (migrated if the backup is older
    // than this version), and verified again where it now lives.
    let store = rightful_store::Store::open(&db.display().to_string(), 1)?;
    let report = store.with_conn(|c| {
        verify(s, c).map_err(|e| rightful_store::StoreError::Invalid(e.to_string()))
    })?;
    drop(store);
    let v = &report.verification;
    if report.ok() {
        out!(
            "restored {} from {}: {} audit entries, trail intact, checked against {}",
            db.display(),
            from.display(),
            v.entries,
            against(&report)
        );
        return Ok(ExitCode::SUCCESS);
    }
    out!(
        "restored {} from {}, but the audit trail does NOT verify ({} entries, checked against {}):",
        db.display(),
        from.display(),
        v.entries,
        against(&report)
    );
    for p in problems(&report) {
        out!("  - {p}");
    }
    if let Some(a) = &report.anchor {
        out!(
            "The backup is older than the newest signed head: entries {}..={} were signed and are not in it. \
             This is recorded, not repaired: keep the anchors as the record of what the restore lost, and see \
             docs/OPERATIONS.md (\"Restoring an older backup\") before anchoring again.",
            v.entries + 1,
            a.seq
        );
    }
    Ok(ExitCode::FAILURE)
}
