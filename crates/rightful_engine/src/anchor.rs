//! Anchoring the audit trail (issue 12 item 10; docs/AUDIT.md).
//!
//! The chain's hashes are unkeyed, so someone who can write the engine database can rewrite an
//! entry, recompute every later hash and move `audit_head`, and the chain alone still verifies.
//! An anchor is the trail's head `(seq, hash)` signed with Rightful's Ed25519 key (a compact JWS
//! over [`AnchorClaims`]); it is kept in `audit_anchors`, appended to
//! `<data_dir>/audit/anchors.jsonl` (directory 0700, file 0600) and, when `[audit] anchor_url`
//! is set, POSTed there. A writer of the database has no key, so cannot sign the rewritten head;
//! and copies held outside the database survive when the table's rows are deleted.
//!
//! A head is signed only when the trail still grows from the last signed one
//! ([`rightful_core::audit::extends`]): a rewritten trail is refused, not signed.
//!
//! Errors: [`EngineError`] (store, files); a refused anchor or a refused signature is an
//! [`Outcome`] or a message in [`Report::refused`], not an error.

use crate::signing::Signer;
use crate::{Engine, EngineError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rightful_core::audit::{self, ANCHOR_TYP, AnchorClaims, Tamper, Verification};
use rightful_store::models::audit as trail;
use rightful_store::models::audit_anchor::{self, AnchorRow};
use rightful_store::{DbConn, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An anchor as exported (one JSON object per line): the claims in clear, and the JWS that
/// proves them. Only the JWS is trusted when checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Always `rightful.audit_anchor`.
    pub typ: String,
    /// The anchored entry.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed.
    pub at: DateTime<Utc>,
    /// The compact JWS (EdDSA) over `{typ, seq, hash, at}`.
    pub jws: String,
}

impl Anchor {
    fn from_row(r: &AnchorRow) -> Self {
        Self {
            typ: ANCHOR_TYP.to_owned(),
            seq: r.seq,
            hash: r.hash.clone(),
            at: r.signed_at.and_utc(),
            jws: r.jws.clone(),
        }
    }

    /// The line written to `anchors.jsonl` and to the exports.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The key anchors are checked with.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// Rightful's own key.
    Signer(&'a Signer),
    /// A JWK Set (Rightful's published `/.well-known/jwks.json`, kept by the auditor).
    Jwks(&'a jsonwebtoken::jwk::JwkSet),
}

impl Key<'_> {
    /// The claims of `jws` when it is an anchor signed by this key.
    pub fn claims(&self, jws: &str) -> Option<AnchorClaims> {
        let claims: AnchorClaims = match self {
            Self::Signer(s) => s.verify(jws)?,
            Self::Jwks(set) => crate::signing::verify_with_jwks(set, jws)?,
        };
        (claims.typ == ANCHOR_TYP).then_some(claims)
    }
}

/// `<data_dir>/audit/anchors.jsonl`.
pub fn file_path(settings: &crate::settings::Settings) -> PathBuf {
    settings
        .storage
        .data_dir
        .join("audit")
        .join("anchors.jsonl")
}

/// The anchors of a text: JSON lines as exported, or bare compact JWS, one a line. Returns
/// `(line number, JWS)`; a line that is neither is an error naming it.
pub fn parse(text: &str) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let jws = if line.starts_with('{') {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("jws").and_then(|j| j.as_str()).map(str::to_owned))
        } else if line.split('.').count() == 3 {
            Some(line.to_owned())
        } else {
            None
        };
        match jws {
            Some(j) => out.push((i + 1, j)),
            None => {
                return Err(format!(
                    "line {}: neither an exported anchor (JSON) nor a JWS",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

/// The position a JWS claims, read without checking its signature (to pick the newest).
fn claimed_seq(jws: &str) -> Option<i64> {
    let payload = jws.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("seq")?
        .as_i64()
}

/// The anchor claiming the highest position, as `(line, JWS)`.
pub fn newest(anchors: &[(usize, String)]) -> Option<&(usize, String)> {
    anchors
        .iter()
        .max_by_key(|(line, jws)| (claimed_seq(jws).unwrap_or(i64::MIN), *line))
}

/// The last line of the local anchors file (read from its tail), if the file exists.
fn last_line(path: &Path) -> Result<Option<String>, EngineError> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let len = f.metadata().map_err(io)?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))
        .map_err(io)?;
    let mut tail = String::new();
    f.read_to_string(&mut tail).map_err(io)?;
    Ok(tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::to_owned))
}

/// Appends one line to the local anchors file: directory 0700, file 0600 (tightened when they
/// exist with wider modes), one `write` per line with `O_APPEND`.
fn append_line(path: &Path, line: &str) -> Result<(), EngineError> {
    use std::io::Write;
    let io = |source| EngineError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
        #[cfg(unix)]
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io)?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(io)?;
    f.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)
}

/// The signed heads the engine knows of, checked with a key.
struct Known {
    /// Those signed by the key.
    valid: Vec<AnchorClaims>,
    /// A message for each one refused (a signature that is not the key's is an alarm: someone
    /// wrote it).
    refused: Vec<String>,
}

/// The newest row of `audit_anchors` and the last line of the local anchors file, each checked
/// with `key`.
fn known(conn: &mut DbConn, key: Key<'_>, file: &Path) -> Result<Known, EngineError> {
    let mut k = Known {
        valid: Vec::new(),
        refused: Vec::new(),
    };
    if let Some(row) = audit_anchor::latest(conn)? {
        match key.claims(&row.jws) {
            Some(c) if c.seq == row.seq && c.hash == row.hash => k.valid.push(c),
            _ => k.refused.push(format!(
                "the newest anchor in the database (entry {}) is not signed by Rightful's key: refused",
                row.seq
            )),
        }
    }
    if let Some(line) = last_line(file)? {
        match parse(&line)
            .ok()
            .and_then(|a| a.into_iter().next())
            .and_then(|(_, jws)| key.claims(&jws))
        {
            Some(c) => k.valid.push(c),
            None => k.refused.push(format!(
                "the last anchor in {} is not signed by Rightful's key: refused",
                file.display()
            )),
        }
    }
    Ok(k)
}

/// The result of checking the trail against signed heads.
#[derive(Debug, Clone)]
pub struct Report {
    /// The chain's verification, with the anchor's finding among its problems.
    pub verification: Verification,
    /// The signed head checked against (the newest valid one).
    pub anchor: Option<AnchorClaims>,
    /// Anchors refused: not signed by the key, or unreadable.
    pub refused: Vec<String>,
}

impl Report {
    /// Whether the trail is intact, matches the signed head, and no anchor was refused.
    pub fn ok(&self) -> bool {
        self.verification.ok() && self.refused.is_empty()
    }
}

/// Which signed heads to check the trail against.
#[derive(Debug, Clone)]
pub enum Against {
    /// The engine's own: the newest row of `audit_anchors` and the last line of this file.
    Known(PathBuf),
    /// Anchors given by the auditor (`(line, JWS)`, as [`parse`] returns): the newest one.
    Given(Vec<(usize, String)>),
}

/// Verifies the whole trail against the recorded head and the newest signed head.
pub fn verify(conn: &mut DbConn, key: Key<'_>, against: &Against) -> Result<Report, EngineError> {
    let (mut anchors, refused) = match against {
        Against::Known(file) => {
            let k = known(conn, key, file)?;
            (k.valid, k.refused)
        }
        Against::Given(given) => match newest(given) {
            None => (
                Vec::new(),
                vec!["no anchor given: the file holds none".to_owned()],
            ),
            Some((line, jws)) => match key.claims(jws) {
                Some(c) => (vec![c], Vec::new()),
                None => (
                    Vec::new(),
                    vec![format!(
                        "the newest anchor (line {line}) is not signed by Rightful's key: refused"
                    )],
                ),
            },
        },
    };
    anchors.sort_by_key(|a| a.seq);
    let anchor = anchors.pop();
    let (entries, (head_seq, head_hash)) = trail::trail(conn)?;
    let verification = audit::verify_anchored(&entries, (head_seq, &head_hash), anchor.as_ref());
    Ok(Report {
        verification,
        anchor,
        refused,
    })
}

/// How an attempt to anchor ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The head was signed and stored.
    Anchored(Anchor),
    /// The head is the last signed one already (or another server signed it first).
    Unchanged {
        /// The head's position.
        seq: i64,
    },
    /// The trail is empty: nothing to sign.
    Empty,
    /// The trail no longer grows from the last signed head, or an anchor was refused: nothing
    /// was signed. Each message names the break.
    Refused(Vec<String>),
}

/// What [`anchor`] found the head to need.
enum Next {
    /// The trail is empty.
    Empty,
    /// The head is signed already.
    Signed(i64),
    /// The trail does not grow from the newest signed head.
    Refused(Tamper),
    /// The head `(seq, hash)`, to sign.
    Sign(i64, String),
}

/// Signs the trail's head when it moved since the newest signed head and the trail still grows
/// from it (blocking: run it on a blocking thread). Writes the table and the local file.
pub fn anchor(
    store: &Store,
    signer: &Signer,
    file: &Path,
    now: DateTime<Utc>,
) -> Result<Outcome, EngineError> {
    let key = Key::Signer(signer);
    let Known {
        valid: mut anchors,
        refused,
    } = store.with_conn(|conn| Ok(known(conn, key, file)))??;
    if !refused.is_empty() {
        return Ok(Outcome::Refused(refused));
    }
    anchors.sort_by_key(|a| a.seq);
    let newest = anchors.pop();
    let next = store.with_conn(|conn| {
        let (head_seq, head_hash) = trail::head(conn)?;
        if head_seq == 0 {
            return Ok(Next::Empty);
        }
        let problem = match newest {
            Some(a) if a.seq == head_seq && a.hash == head_hash => {
                return Ok(Next::Signed(head_seq));
            }
            Some(a) => {
                let since = trail::since(conn, a.seq)?;
                audit::extends(&a, &since, (head_seq, &head_hash)).err()
            }
            None => {
                let (entries, _) = trail::trail(conn)?;
                let v = audit::verify(&entries, Some((head_seq, &head_hash)));
                let at_head = entries
                    .iter()
                    .find(|e| e.seq == head_seq)
                    .is_some_and(|e| e.hash == head_hash);
                v.problems
                    .into_iter()
                    .next()
                    .or((!at_head).then_some(Tamper::Altered { seq: head_seq }))
            }
        };
        Ok(match problem {
            Some(p) => Next::Refused(p),
            None => Next::Sign(head_seq, head_hash),
        })
    })?;
    let (seq, hash) = match next {
        Next::Empty => return Ok(Outcome::Empty),
        Next::Refused(p) => return Ok(Outcome::Refused(vec![p.to_string()])),
        Next::Signed(seq) => return Ok(Outcome::Unchanged { seq }),
        Next::Sign(seq, hash) => (seq, hash),
    };
    let at = rightful_store::models::audit::to_micros(now);
    let claims = AnchorClaims::new(seq, &hash, at);
    let jws = signer.sign(&claims).ok_or_else(|| EngineError::Io {
        path: "signing key".into(),
        source: std::io::Error::other("the anchor could not be signed"),
    })?;
    let row = AnchorRow {
        seq,
        hash,
        signed_at: at.naive_utc(),
        jws,
        sent_at: None,
    };
    if !store.with_conn(|c| audit_anchor::insert(c, &row))? {
        return Ok(Outcome::Unchanged { seq });
    }
    let anchor = Anchor::from_row(&row);
    append_line(file, &anchor.to_line())?;
    tracing::info!(anchor.seq = seq, "audit trail anchored");
    Ok(Outcome::Anchored(anchor))
}

/// Every stored anchor, by position.
pub fn all(store: &Store) -> Result<Vec<Anchor>, EngineError> {
    Ok(store
        .with_conn(audit_anchor::all)?
        .iter()
        .map(Anchor::from_row)
        .collect())
}

/// Every stored anchor, by position (on a blocking thread).
pub async fn list(engine: &Engine) -> Result<Vec<Anchor>, EngineError> {
    let store = engine.store.clone();
    tokio::task::spawn_blocking(move || all(&store))
        .await
        .map_err(|e| EngineError::Store(StoreError::Task(e.to_string())))?
}

/// Verifies the trail against the newest signed head the engine knows of (the table's and the
/// local file's), with Rightful's key (on a blocking thread).
pub async fn check(engine: &Engine) -> Result<Report, EngineError> {
    let (store, signer) = (engine.store.clone(), engine.signer.clone());
    let against = Against::Known(file_path(&engine.settings));
    tokio::task::spawn_blocking(move || {
        store.with_conn(|c| Ok(verify(c, Key::Signer(&signer), &against)))?
    })
    .await
    .map_err(|e| EngineError::Store(StoreError::Task(e.to_string())))?
}

/// Sends the anchors not yet delivered to `[audit] anchor_url` (oldest first, up to 50); stops at
/// the first failure, which is logged and tried again at the next anchor. Returns how many went.
pub async fn deliver(engine: &Engine) -> Result<usize, EngineError> {
    let settings = &engine.settings.audit;
    let url = settings.anchor_url.trim();
    if url.is_empty() {
        return Ok(0);
    }
    if !(url.starts_with("https://")
        || (settings.allow_plain_http_anchor_url && url.starts_with("http://")))
    {
        // The address is not logged: it may carry credentials.
        tracing::error!("[audit] anchor_url is not an https:// address: anchors are not sent");
        return Ok(0);
    }
    let rows = engine.store.run(|c| audit_anchor::unsent(c, 50)).await?;
    let client = crate::http_client();
    let mut sent = 0;
    for row in rows {
        let body = Anchor::from_row(&row).to_line();
        let res = client
            .post(url)
            .timeout(Duration::from_secs(10))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let failure = match res {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Some("timeout".to_owned()),
            Err(e) if e.is_connect() => Some("connection refused or unreachable".to_owned()),
            Err(_) => Some("request failed".to_owned()),
        };
        if let Some(why) = failure {
            tracing::warn!(anchor.seq = row.seq, error = %why, "audit anchor not delivered; tried again at the next anchor");
            break;
        }
        let seq = row.seq;
        let now = Utc::now().naive_utc();
        engine
            .store
            .run(move |c| audit_anchor::mark_sent(c, seq, now))
            .await?;
        sent += 1;
    }
    Ok(sent)
}

/// Anchors now (on a blocking thread), then delivers what is pending; logs a refusal.
pub async fn run_once(engine: &Engine) -> Result<Outcome, EngineError> {
    let (store, signer, file) = (
        engine.store.clone(),
        engine.signer.clone(),
        file_path(&engine.settings),
    );
    let outcome = tokio::task::spawn_blocking(move || anchor(&store, &signer, &file, Utc::now()))
        .await
        .map_err(|e| EngineError::Store(StoreError::Task(e.to_string())))??;
    if let Outcome::Refused(problems) = &outcome {
        for p in problems {
            tracing::error!(problem = %p, "audit trail NOT anchored: it does not extend the last signed head");
        }
    }
    deliver(engine).await?;
    Ok(outcome)
}

/// The server's anchoring loop: every `[audit] anchor_every_secs` (the first at start-up), the
/// head is signed when it moved. Returns at once when the interval is 0.
pub async fn run_schedule(engine: Engine) {
    let every = engine.settings.audit.anchor_every_secs;
    if every == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if let Err(e) = run_once(&engine).await {
            tracing::error!(error = %e, "audit anchoring failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signed(signer: &Signer, seq: i64) -> String {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        signer
            .sign(&AnchorClaims::new(seq, &"ab".repeat(32), at))
            .unwrap()
    }

    #[test]
    fn exported_lines_and_bare_jws_parse_and_the_newest_is_the_highest_position() {
        let signer = Signer::from_secret(b"a test key of some length").unwrap();
        let line = Anchor {
            typ: ANCHOR_TYP.into(),
            seq: 9,
            hash: "ab".repeat(32),
            at: Utc::now(),
            jws: signed(&signer, 9),
        }
        .to_line();
        let text = format!("{}\n\n{line}\n{}\n", signed(&signer, 3), signed(&signer, 5));
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].0, 3, "line numbers count blank lines");
        let (line_no, jws) = newest(&parsed).unwrap();
        assert_eq!(*line_no, 3);
        assert_eq!(Key::Signer(&signer).claims(jws).unwrap().seq, 9);
        assert!(
            parse("not an anchor\n")
                .unwrap_err()
                .contains("line 1: neither")
        );
    }

    // Issue 12 item 10: a JWS by another key, or one that is not an anchor, is not accepted.
    #[test]
    fn only_anchors_signed_by_the_key_are_accepted() {
        let ours = Signer::from_secret(b"a test key of some length").unwrap();
        let theirs = Signer::from_secret(b"somebody else's key entirely").unwrap();
        let jws = signed(&theirs, 4);
        assert!(Key::Signer(&ours).claims(&jws).is_none());
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(ours.jwks()).unwrap();
        assert!(Key::Jwks(&jwks).claims(&jws).is_none());
        assert_eq!(Key::Jwks(&jwks).claims(&signed(&ours, 4)).unwrap().seq, 4);
        let receipt = ours
            .sign(&serde_json::json!({"typ": "rightful.receipt", "seq": 4, "hash": "ab", "at": "2026-12-01T00:00:00Z"}))
            .unwrap();
        assert!(Key::Signer(&ours).claims(&receipt).is_none());
    }
}
