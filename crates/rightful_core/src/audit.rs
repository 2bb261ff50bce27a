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

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
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
}
