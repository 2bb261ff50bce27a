//! The audit trail: batched appends chained by hash, reads by period, and verification.

use crate::schema::{audit_entries, audit_head};
use crate::{DbConn, StoreError};
use chrono::{NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use rightful_core::audit::{self, Entry, EntryContent, Verification};

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_entries)]
pub struct AuditRow {
    /// Position.
    pub seq: i64,
    /// When, UTC.
    pub at: NaiveDateTime,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Why.
    pub reason: String,
    /// JSON details.
    pub details: String,
    /// Previous hash.
    pub prev_hash: String,
    /// Hash.
    pub hash: String,
}

impl AuditRow {
    fn from_entry(e: &Entry) -> Self {
        Self {
            seq: e.seq,
            at: e.content.at.naive_utc(),
            actor: e.content.actor.clone(),
            action: e.content.action.clone(),
            target: e.content.target.clone(),
            reason: e.content.reason.clone(),
            details: e.content.details.to_string(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }

    /// The core entry; a `details` value that is not JSON is kept as a string so that
    /// verification reports the entry as altered rather than failing.
    pub fn into_entry(self) -> Entry {
        let details =
            serde_json::from_str(&self.details).unwrap_or(serde_json::Value::String(self.details));
        Entry {
            seq: self.seq,
            content: EntryContent {
                at: Utc.from_utc_datetime(&self.at),
                actor: self.actor,
                action: self.action,
                target: self.target,
                reason: self.reason,
                details,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// Truncates a time to whole microseconds, the precision both backends store, so that the hash
/// computed before storing matches the one recomputed after reading.
pub fn to_micros(at: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    let micros = at.timestamp_micros();
    Utc.timestamp_micros(micros).single().unwrap_or(at)
}

/// Appends `contents` in one transaction, chained after the current head; returns the entries.
///
/// The first statement is a no-op UPDATE of the head row: on PostgreSQL it locks that row, on
/// SQLite it takes the database write lock, so concurrent writers queue instead of forking the
/// chain, with one code path for both backends.
pub fn append(conn: &mut DbConn, contents: Vec<EntryContent>) -> Result<Vec<Entry>, StoreError> {
    if contents.is_empty() {
        return Ok(Vec::new());
    }
    let contents: Vec<EntryContent> = contents
        .into_iter()
        .map(|c| EntryContent {
            at: to_micros(c.at),
            ..c
        })
        .collect();
    conn.transaction(|conn| {
        diesel::update(audit_head::table.find(1))
            .set(audit_head::seq.eq(audit_head::seq))
            .execute(conn)?;
        let (seq, hash): (i64, String) = audit_head::table
            .find(1)
            .select((audit_head::seq, audit_head::hash))
            .first(conn)?;
        let entries = audit::chain(seq, &hash, contents);
        let rows: Vec<AuditRow> = entries.iter().map(AuditRow::from_entry).collect();
        // Batch inserts do not compile on diesel's MultiBackend: one visible per-backend match.
        for chunk in rows.chunks(500) {
            match conn {
                DbConn::Sqlite(c) => diesel::insert_into(audit_entries::table)
                    .values(chunk)
                    .execute(c)?,
                DbConn::Pg(c) => diesel::insert_into(audit_entries::table)
                    .values(chunk)
                    .execute(c)?,
            };
        }
        if let Some(last) = entries.last() {
            diesel::update(audit_head::table.find(1))
                .set((
                    audit_head::seq.eq(last.seq),
                    audit_head::hash.eq(&last.hash),
                ))
                .execute(conn)?;
        }
        Ok(entries)
    })
}

/// The recorded head `(seq, hash)`.
pub fn head(conn: &mut DbConn) -> Result<(i64, String), StoreError> {
    Ok(audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?)
}

/// Entries with `from <= at < to` (either bound optional), in order.
pub fn between(
    conn: &mut DbConn,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> Result<Vec<Entry>, StoreError> {
    let mut q = audit_entries::table
        .select(AuditRow::as_select())
        .order(audit_entries::seq.asc())
        .into_boxed();
    if let Some(f) = from {
        q = q.filter(audit_entries::at.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(audit_entries::at.lt(t));
    }
    Ok(q.load(conn)?
        .into_iter()
        .map(AuditRow::into_entry)
        .collect())
}

/// Verifies the whole trail against the recorded head.
///
/// Rows are read in pages of 10,000 to bound the database round trips; the chain check needs
/// every hash at once to tell reorderings from deletions, so memory grows with the trail
/// (about 300 bytes per entry).
pub fn verify(conn: &mut DbConn) -> Result<Verification, StoreError> {
    let (entries, (head_seq, head_hash)) = trail(conn)?;
    Ok(audit::verify(&entries, Some((head_seq, &head_hash))))
}

/// Entries with `seq >= from`, in order (the entries since a signed head).
pub fn since(conn: &mut DbConn, from: i64) -> Result<Vec<Entry>, StoreError> {
    Ok(audit_entries::table
        .filter(audit_entries::seq.ge(from))
        .order(audit_entries::seq.asc())
        .select(AuditRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRow::into_entry)
        .collect())
}

/// The whole trail (in `seq` order) and the recorded head, read in one transaction.
pub fn trail(conn: &mut DbConn) -> Result<(Vec<Entry>, (i64, String)), StoreError> {
    conn.transaction(|conn| {
        let head = head(conn)?;
        let mut entries = Vec::new();
        let mut after = i64::MIN;
        loop {
            let page: Vec<AuditRow> = audit_entries::table
                .filter(audit_entries::seq.gt(after))
                .order(audit_entries::seq.asc())
                .limit(10_000)
                .select(AuditRow::as_select())
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            entries.extend(page.into_iter().map(AuditRow::into_entry));
        }
        Ok((entries, head))
    })
}

/// The most recent entry with this action, if any.
pub fn last_with_action(conn: &mut DbConn, action: &str) -> Result<Option<Entry>, StoreError> {
    Ok(audit_entries::table
        .filter(audit_entries::action.eq(action))
        .order(audit_entries::seq.desc())
        .select(AuditRow::as_select())
        .first(conn)
        .optional()?
        .map(AuditRow::into_entry))
}

/// Whether an entry with this action and target exists (e.g. `result.deleted` for a request).
pub fn exists(conn: &mut DbConn, action: &str, target: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(
        audit_entries::table
            .filter(audit_entries::action.eq(action))
            .filter(audit_entries::target.eq(target)),
    ))
    .get_result(conn)?)
}
