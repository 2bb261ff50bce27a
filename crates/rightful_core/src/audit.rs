//! The audit trail's hash chain (checklist F2, F3).
//!
//! Each entry stores the hash of the entry before it and its own hash: SHA-256 over the previous
//! hash and the entry's canonical content (a JSON object with sorted keys). The sequence number is
//! not hashed: the chain itself fixes the order, which lets [`verify`] tell a reordering apart
//! from an alteration. Entries hold identifiers only, never personal data.
//!
//! [`verify`] reports each break and what it most likely is: an altered entry (its content no
//! longer matches its hash), a deleted one (a gap in the numbers, or a link to a hash that is
//! nowhere), an inserted one (the next entry links past it), a reordering (links to an entry found
//! elsewhere), or a truncated tail (the chain ends before the recorded head).
//!
//! The hashes are unkeyed: someone who can write the database can rewrite an entry, recompute
//! every later hash and move the head, and [`verify`] alone would call the result intact. An
//! [`AnchorClaims`] (a head signed with Rightful's key and kept outside the database) closes that:
//! [`verify_anchored`] also requires the entry at the signed position to carry the signed hash,
//! and [`extends`] checks, before the next head is signed, that the trail still grows from the
//! last signed one (issue 12 item 10).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content of an entry: who did what, when, to what, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryContent {
    /// When (UTC, microseconds).
    pub at: DateTime<Utc>,
    /// Who: `dpo:<staff id>`, `subject`, `system`, `agent:<id>`.
    pub actor: String,
    /// What, as a dotted verb: `request.approved`, `retention.purged`.
    pub action: String,
    /// The object: a request id, a purpose id, a store name.
    pub target: String,
    /// Why, when a reason is recorded.
    pub reason: String,
    /// Further identifiers and counts (never personal data), as a JSON object.
    pub details: serde_json::Value,
}

impl EntryContent {
    /// The canonical bytes hashed: JSON with sorted keys and RFC 3339 microsecond UTC time.
    pub fn canonical(&self) -> String {
        let value = serde_json::json!({
            "action": self.action,
            "actor": self.actor,
            "at": self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "details": self.details,
            "reason": self.reason,
            "target": self.target,
        });
        // serde_json's map is ordered by key, so this is canonical.
        value.to_string()
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position, from 1.
    pub seq: i64,
    /// The content.
    #[serde(flatten)]
    pub content: EntryContent,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// SHA-256 of `prev_hash` and the canonical content, as lowercase hex.
pub fn entry_hash(prev_hash: &str, content: &EntryContent) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.canonical().as_bytes());
    hex(&h.finalize())
}

/// Lowercase hex of `bytes` (hashes, tokens, key ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Chains new contents after `(last_seq, last_hash)`; returns the entries to store.
pub fn chain(last_seq: i64, last_hash: &str, contents: Vec<EntryContent>) -> Vec<Entry> {
    let mut prev = last_hash.to_owned();
    let mut seq = last_seq;
    contents
        .into_iter()
        .map(|content| {
            seq += 1;
            let hash = entry_hash(&prev, &content);
            let e = Entry {
                seq,
                content,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            };
            debug_assert_eq!(e.hash, prev);
            e
        })
        .collect()
}

/// One break found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tamper {
    /// The entry's content or hash was changed.
    Altered {
        /// The entry.
        seq: i64,
    },
    /// Entries are missing before `seq`.
    Deleted {
        /// The first entry after the gap.
        before_seq: i64,
        /// How many numbers are missing (0 when the rows were renumbered).
        missing: i64,
    },
    /// The entry at `seq` was not part of the chain: the next one links past it.
    Inserted {
        /// The intruder.
        seq: i64,
    },
    /// The entry at `seq` links to an entry found at another position.
    Reordered {
        /// The displaced entry.
        seq: i64,
    },
    /// The chain ends before the recorded head: entries after `last_seq` were removed.
    Truncated {
        /// The last entry present.
        last_seq: i64,
        /// The head recorded when the last entry was written.
        head_seq: i64,
    },
    /// The entry at a signed head's position no longer carries the signed hash: it or an entry
    /// before it was changed and the hashes recomputed.
    Rewritten {
        /// The signed position.
        seq: i64,
        /// When the head was signed.
        anchored_at: DateTime<Utc>,
    },
    /// The trail (or its recorded head) ends before a signed head: entries were removed and the
    /// head moved back.
    BehindAnchor {
        /// The last entry present (or the recorded head, when that is lower).
        last_seq: i64,
        /// The signed position.
        anchored_seq: i64,
        /// When the head was signed.
        anchored_at: DateTime<Utc>,
    },
}

impl std::fmt::Display for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Altered { seq } => write!(f, "entry {seq} was altered"),
            Self::Deleted {
                before_seq,
                missing,
            } if *missing > 0 => {
                write!(
                    f,
                    "{missing} entr{} deleted before entry {before_seq}",
                    if *missing == 1 { "y was" } else { "ies were" }
                )
            }
            Self::Deleted { before_seq, .. } => write!(
                f,
                "entry {before_seq} links to an entry that is not there: an entry before it was deleted or rewritten"
            ),
            Self::Inserted { seq } => write!(f, "entry {seq} was inserted"),
            Self::Reordered { seq } => write!(f, "entry {seq} is out of order"),
            Self::Truncated { last_seq, head_seq } => {
                write!(
                    f,
                    "entries {}..={head_seq} were removed from the end",
                    last_seq + 1
                )
            }
            Self::Rewritten { seq, anchored_at } => write!(
                f,
                "entry {seq} differs from the signed head of {}: the trail was rewritten",
                anchored_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Self::BehindAnchor {
                last_seq,
                anchored_seq,
                anchored_at,
            } => write!(
                f,
                "the trail ends at entry {last_seq}, before the signed head of {} (entry {anchored_seq}): entries were removed and the head moved back",
                anchored_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        }
    }
}

/// The result of verifying a trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: usize,
    /// Breaks found, in order; empty when the trail is intact.
    pub problems: Vec<Tamper>,
}

impl Verification {
    /// Whether the trail is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies entries given in `seq` order against the recorded head `(seq, hash)`, if any.
pub fn verify(entries: &[Entry], head: Option<(i64, &str)>) -> Verification {
    let positions: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.hash.as_str(), i))
        .collect();
    let referenced: HashSet<&str> = entries.iter().map(|e| e.prev_hash.as_str()).collect();
    let mut problems = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if entry_hash(&e.prev_hash, &e.content) != e.hash {
            problems.push(Tamper::Altered { seq: e.seq });
        }
        let expected_prev = if i == 0 {
            GENESIS
        } else {
            entries[i - 1].hash.as_str()
        };
        let expected_seq = if i == 0 { 1 } else { entries[i - 1].seq + 1 };
        if e.seq > expected_seq {
            problems.push(Tamper::Deleted {
                before_seq: e.seq,
                missing: e.seq - expected_seq,
            });
            continue;
        }
        if e.prev_hash == expected_prev {
            continue;
        }
        // The entry before this one is linked from nowhere: it was slipped into the chain.
        let before_orphan = i >= 1 && !referenced.contains(entries[i - 1].hash.as_str());
        let links_past =
            (i >= 2 && e.prev_hash == entries[i - 2].hash) || (i == 1 && e.prev_hash == GENESIS);
        if before_orphan && links_past {
            problems.push(Tamper::Inserted {
                seq: entries[i - 1].seq,
            });
        } else if positions.contains_key(e.prev_hash.as_str()) || e.prev_hash == GENESIS {
            problems.push(Tamper::Reordered { seq: e.seq });
        } else {
            problems.push(Tamper::Deleted {
                before_seq: e.seq,
                missing: 0,
            });
        }
    }
    if let Some((head_seq, head_hash)) = head {
        match entries.last() {
            Some(last) if last.seq < head_seq => {
                problems.push(Tamper::Truncated {
                    last_seq: last.seq,
                    head_seq,
                });
            }
            None if head_seq > 0 => problems.push(Tamper::Truncated {
                last_seq: 0,
                head_seq,
            }),
            Some(last) if last.seq == head_seq && last.hash != head_hash => {
                problems.push(Tamper::Altered { seq: last.seq });
            }
            _ => {}
        }
    }
    problems.dedup();
    Verification {
        entries: entries.len(),
        problems,
    }
}

/// The `typ` claim of an anchor.
pub const ANCHOR_TYP: &str = "rightful.audit_anchor";

/// The claims of an anchor: the head `(seq, hash)` of the trail at `at`. Rightful signs them
/// (a JWS); the signature is checked by the caller before the claims are trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorClaims {
    /// Always [`ANCHOR_TYP`].
    pub typ: String,
    /// The head's position.
    pub seq: i64,
    /// The head's hash.
    pub hash: String,
    /// When it was signed (UTC).
    pub at: DateTime<Utc>,
}

impl AnchorClaims {
    /// The claims for head `(seq, hash)` signed at `at`.
    pub fn new(seq: i64, hash: &str, at: DateTime<Utc>) -> Self {
        Self {
            typ: ANCHOR_TYP.to_owned(),
            seq,
            hash: hash.to_owned(),
            at,
        }
    }
}

/// Checks entries (in `seq` order) and the recorded head's position against a signed head: the
/// trail must reach it and the entry at its position must carry its hash. As every entry's hash
/// covers the one before, a match vouches for every entry up to the signed one.
pub fn check_anchor(entries: &[Entry], head_seq: i64, anchor: &AnchorClaims) -> Option<Tamper> {
    let last_seq = entries.last().map_or(0, |e| e.seq).min(head_seq);
    match entries.iter().rev().find(|e| e.seq == anchor.seq) {
        Some(e) if e.hash != anchor.hash => Some(Tamper::Rewritten {
            seq: anchor.seq,
            anchored_at: anchor.at,
        }),
        Some(_) if last_seq >= anchor.seq => None,
        _ => Some(Tamper::BehindAnchor {
            last_seq,
            anchored_seq: anchor.seq,
            anchored_at: anchor.at,
        }),
    }
}

/// [`verify`], then [`check_anchor`] against the newest signed head, when there is one.
pub fn verify_anchored(
    entries: &[Entry],
    head: (i64, &str),
    anchor: Option<&AnchorClaims>,
) -> Verification {
    let mut v = verify(entries, Some(head));
    if let Some(problem) = anchor.and_then(|a| check_anchor(entries, head.0, a)) {
        v.problems.push(problem);
    }
    v
}

/// Whether `entries` (from the signed position on, in `seq` order) still grow from the signed
/// head `anchor` up to the recorded head `head`: the first carries the signed hash and every
/// later one links to the one before and matches its own hash. Checked before a new head is
/// signed, so that a rewritten trail is never signed (and only the entries since the last signed
/// head are read). Returns the first break.
pub fn extends(anchor: &AnchorClaims, entries: &[Entry], head: (i64, &str)) -> Result<(), Tamper> {
    let behind = |last_seq| Tamper::BehindAnchor {
        last_seq,
        anchored_seq: anchor.seq,
        anchored_at: anchor.at,
    };
    let Some(first) = entries.first() else {
        return Err(behind(head.0.min(anchor.seq - 1)));
    };
    if first.seq != anchor.seq {
        return Err(behind(first.seq.min(head.0)));
    }
    if first.hash != anchor.hash {
        return Err(Tamper::Rewritten {
            seq: anchor.seq,
            anchored_at: anchor.at,
        });
    }
    for pair in entries.windows(2) {
        let (before, e) = (&pair[0], &pair[1]);
        if e.seq != before.seq + 1 {
            return Err(Tamper::Deleted {
                before_seq: e.seq,
                missing: e.seq - before.seq - 1,
            });
        }
        if e.prev_hash != before.hash {
            return Err(Tamper::Deleted {
                before_seq: e.seq,
                missing: 0,
            });
        }
        if entry_hash(&e.prev_hash, &e.content) != e.hash {
            return Err(Tamper::Altered { seq: e.seq });
        }
    }
    if head.0 < anchor.seq {
        return Err(behind(head.0));
    }
    // Entries appended since the head was read may follow it: the one at the head must match.
    match entries.iter().find(|e| e.seq == head.0) {
        Some(e) if e.hash != head.1 => Err(Tamper::Altered { seq: e.seq }),
        Some(_) => Ok(()),
        None => Err(Tamper::Truncated {
            last_seq: entries.last().map_or(first.seq, |e| e.seq),
            head_seq: head.0,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn content(n: u32) -> EntryContent {
        EntryContent {
            at: Utc
                .with_ymd_and_hms(2026, 1, 1, 10, n / 60, n % 60)
                .unwrap(),
            actor: "dpo:1".into(),
            action: "request.approved".into(),
            target: format!("req-{n}"),
            reason: String::new(),
            details: serde_json::json!({"n": n}),
        }
    }

    fn trail(n: u32) -> Vec<Entry> {
        chain(0, GENESIS, (1..=n).map(content).collect())
    }

    fn head(t: &[Entry]) -> Option<(i64, &str)> {
        t.last().map(|e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn an_untouched_trail_verifies() {
        let t = trail(6);
        let v = verify(&t, head(&t));
        assert!(v.ok(), "{:?}", v.problems);
        assert_eq!(v.entries, 6);
        assert!(verify(&[], Some((0, GENESIS))).ok());
    }

    #[test]
    fn f2_an_altered_entry_is_named() {
        let mut t = trail(6);
        let h = (t[5].seq, t[5].hash.clone());
        t[2].content.reason = "changed".into();
        assert_eq!(
            verify(&t, Some((h.0, &h.1))).problems,
            vec![Tamper::Altered { seq: 3 }]
        );
    }

    #[test]
    fn f2_an_altered_entry_with_recomputed_hash_breaks_the_next_link() {
        let mut t = trail(6);
        t[2].content.actor = "dpo:2".into();
        t[2].hash = entry_hash(&t[2].prev_hash, &t[2].content);
        let v = verify(&t, None);
        assert_eq!(
            v.problems,
            vec![Tamper::Deleted {
                before_seq: 4,
                missing: 0
            }]
        );
        assert!(!v.ok());
    }

    #[test]
    fn f2_a_deleted_entry_is_found_by_its_gap() {
        let mut t = trail(6);
        t.remove(3);
        assert_eq!(
            verify(&t, None).problems,
            vec![Tamper::Deleted {
                before_seq: 5,
                missing: 1
            }]
        );
    }

    #[test]
    fn f2_a_deleted_entry_is_found_even_when_the_rest_is_renumbered() {
        let mut t = trail(6);
        t.remove(3);
        for (i, e) in t.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(
            verify(&t, None).problems,
            vec![Tamper::Deleted {
                before_seq: 4,
                missing: 0
            }]
        );
        let mut first_gone = trail(3);
        first_gone.remove(0);
        for (i, e) in first_gone.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(
            verify(&first_gone, None).problems,
            vec![Tamper::Deleted {
                before_seq: 1,
                missing: 0
            }]
        );
    }

    #[test]
    fn f2_an_inserted_entry_is_named() {
        let mut t = trail(6);
        let forged = chain(3, &t[2].hash, vec![content(99)]).remove(0);
        t.insert(3, forged);
        for (i, e) in t.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(&t, None).problems, vec![Tamper::Inserted { seq: 4 }]);
    }

    #[test]
    fn f2_reordered_entries_are_named() {
        let mut t = trail(6);
        t.swap(2, 3);
        t[2].seq = 3;
        t[3].seq = 4;
        let problems = verify(&t, None).problems;
        assert!(
            problems.contains(&Tamper::Reordered { seq: 3 }),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| matches!(p, Tamper::Reordered { .. })),
            "{problems:?}"
        );
    }

    #[test]
    fn f2_a_truncated_tail_is_found_against_the_head() {
        let t = trail(6);
        let h = (t[5].seq, t[5].hash.clone());
        let cut = &t[..4];
        assert_eq!(
            verify(cut, Some((h.0, &h.1))).problems,
            vec![Tamper::Truncated {
                last_seq: 4,
                head_seq: 6
            }]
        );
    }

    #[test]
    fn canonical_content_is_stable_and_key_ordered() {
        let c = content(1);
        assert_eq!(
            c.canonical(),
            r#"{"action":"request.approved","actor":"dpo:1","at":"2026-01-01T10:00:01.000000Z","details":{"n":1},"reason":"","target":"req-1"}"#
        );
        assert_eq!(entry_hash(GENESIS, &c).len(), 64);
    }

    fn signed(t: &[Entry], seq: i64) -> AnchorClaims {
        let e = &t[usize::try_from(seq - 1).unwrap()];
        AnchorClaims::new(
            e.seq,
            &e.hash,
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
        )
    }

    /// Rewrites entry `at` and recomputes every later hash, as a database writer can.
    fn rewrite(t: &mut [Entry], at: usize) {
        t[at].content.details = serde_json::json!({"n": "forged"});
        for i in at..t.len() {
            if i > 0 {
                t[i].prev_hash = t[i - 1].hash.clone();
            }
            t[i].hash = entry_hash(&t[i].prev_hash, &t[i].content);
        }
    }

    // Issue 12 item 10: the unkeyed chain accepts a rewrite; the signed head does not.
    #[test]
    fn a_rewritten_trail_passes_the_chain_but_not_the_signed_head() {
        let mut t = trail(6);
        let anchor = signed(&t, 5);
        rewrite(&mut t, 1);
        let h = (t[5].seq, t[5].hash.clone());
        assert!(verify(&t, Some((h.0, &h.1))).ok());
        let v = verify_anchored(&t, (h.0, &h.1), Some(&anchor));
        assert_eq!(
            v.problems,
            vec![Tamper::Rewritten {
                seq: 5,
                anchored_at: anchor.at
            }]
        );
        assert!(
            v.problems[0]
                .to_string()
                .starts_with("entry 5 differs from the signed head of 2026-01-02T00:00:00Z")
        );
        assert!(extends(&anchor, &t[4..], (h.0, &h.1)).is_err());
    }

    // Issue 12 item 10: entries removed and the head moved back are caught by the signed head.
    #[test]
    fn a_trail_cut_back_behind_the_signed_head_is_caught() {
        let t = trail(6);
        let anchor = signed(&t, 6);
        let cut = &t[..4];
        let h = (cut[3].seq, cut[3].hash.clone());
        assert!(verify(cut, Some((h.0, &h.1))).ok());
        assert_eq!(
            verify_anchored(cut, (h.0, &h.1), Some(&anchor)).problems,
            vec![Tamper::BehindAnchor {
                last_seq: 4,
                anchored_seq: 6,
                anchored_at: anchor.at
            }]
        );
        assert!(extends(&anchor, &[], (h.0, &h.1)).is_err());
    }

    #[test]
    fn a_trail_that_grew_honestly_after_its_signed_head_passes() {
        let t = trail(8);
        let anchor = signed(&t, 5);
        let h = (t[7].seq, t[7].hash.clone());
        assert!(verify_anchored(&t, (h.0, &h.1), Some(&anchor)).ok());
        assert_eq!(extends(&anchor, &t[4..], (h.0, &h.1)), Ok(()));
        assert_eq!(extends(&anchor, &t[4..5], (5, &t[4].hash)), Ok(()));
        let mut altered = t.clone();
        altered[6].content.reason = "changed".into();
        assert_eq!(
            extends(&anchor, &altered[4..], (h.0, &h.1)),
            Err(Tamper::Altered { seq: 7 })
        );
        assert_eq!(
            extends(&anchor, &t[4..6], (h.0, &h.1)),
            Err(Tamper::Truncated {
                last_seq: 6,
                head_seq: 8
            })
        );
    }
}
