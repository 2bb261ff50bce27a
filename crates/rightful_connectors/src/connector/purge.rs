//! Retention purge (Art. 5(1)(e)): deletes the rows whose retention period has run out, in
//! bounded batches (each its own short transaction), children before parents. A rule that
//! depends on the subject's presence in another purpose (after-sales: 5 years for a customer,
//! otherwise 3) is settled row by row through a resolver the caller provides, only for rows in
//! the window where the answer matters.

use super::{Connector, Identities};
use crate::ConnectorError;
use crate::sql::{Bind, Binds, Exec, Manager, docs_in, run_in};
use chrono::NaiveDate;
use diesel::r2d2::PooledConnection;
use rightful_core::Policy;
use rightful_core::retention::{Condition, Period, RetentionRule, StartEvent};
use rightful_core::storemap::TableMap;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Instant;

/// Purge options.
#[derive(Debug, Clone, Copy)]
pub struct PurgeOptions<'a> {
    /// The day the periods are measured against.
    pub today: NaiveDate,
    /// Rows deleted per batch (per transaction).
    pub batch: usize,
    /// Count what would go, change nothing.
    pub dry_run: bool,
    /// Only the tables of this purpose.
    pub purpose: Option<&'a str>,
    /// Subjects whose rows are kept whatever their age (a legal hold, a pending request): rows
    /// whose identity columns hold one of these values are skipped and counted.
    pub held: Option<&'a Identities>,
}

/// What the purge did (or would do) in one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePurge {
    /// Table.
    pub table: String,
    /// Rows past their period (deleted unless dry run), not counting child rows.
    pub rows: u64,
    /// Child rows deleted with them, per table.
    pub children: Vec<(String, u64)>,
    /// The cut-off date of each period applied, with its event.
    pub cutoffs: Vec<(StartEvent, NaiveDate)>,
    /// Batches run.
    pub batches: u64,
    /// The longest batch, in milliseconds.
    pub longest_batch_ms: f64,
    /// Why the table was not purged on its own, when it was not.
    pub skipped: Option<String>,
    /// Rows past their period kept because they are restricted (Art. 18) or their subject is
    /// held (a legal hold, a pending request).
    pub kept: u64,
    /// Rows moved to the intermediate archive (their archive flag set), where the policy says
    /// so; they are erased when their period ends.
    pub archived: u64,
    /// The archive's cut-off: rows whose event is on or before it are archived.
    pub archive_cutoff: Option<NaiveDate>,
}

impl TablePurge {
    /// Counts a batch that started at `started`, and keeps the longest.
    fn timed(&mut self, started: Instant) {
        self.batches += 1;
        self.longest_batch_ms = self
            .longest_batch_ms
            .max(started.elapsed().as_secs_f64() * 1000.0);
    }
}

/// Answers whether a condition holds for the subject of a row (e.g. "appears in orders").
pub type Resolver<'a> = dyn FnMut(&Condition, &Identities) -> Result<bool, ConnectorError> + 'a;

fn next_day(d: NaiveDate) -> String {
    d.succ_opt().unwrap_or(d).format("%Y-%m-%d").to_string()
}

impl Connector {
    /// The retention rule of a table: the rule of its data categories (they share one in the
    /// maps we ship; when they differ, the longest-lived category decides, so nothing is purged
    /// early).
    pub fn table_rule(
        &self,
        policy: &Policy,
        t: &TableMap,
        today: NaiveDate,
    ) -> Option<RetentionRule> {
        let purpose = policy.purpose(t.purpose.as_ref())?;
        let rules: Vec<&RetentionRule> = t
            .categories()
            .iter()
            .filter_map(|c| purpose.category(c.as_ref()))
            .map(|c| &c.retention)
            .collect();
        rules
            .into_iter()
            .min_by_key(|r| r.default.cutoff(today).unwrap_or(today))
            .cloned()
    }

    /// Purges every table of the store that holds the date its rule runs from.
    pub fn purge(
        &self,
        policy: &Policy,
        opts: PurgeOptions,
        resolver: &mut Resolver<'_>,
    ) -> Result<Vec<TablePurge>, ConnectorError> {
        let mut report = Vec::new();
        // Parents whose date lives in their children (customers, whose contracts end with their
        // orders) are swept last, once their children have been.
        let mut orphans: Vec<(&TableMap, RetentionRule, TablePurge)> = Vec::new();
        for t in &self.map.tables {
            let mut out = TablePurge {
                table: t.name.clone(),
                rows: 0,
                children: Vec::new(),
                cutoffs: Vec::new(),
                batches: 0,
                longest_batch_ms: 0.0,
                skipped: None,
                kept: 0,
                archived: 0,
                archive_cutoff: None,
            };
            if opts.purpose.is_some_and(|p| p != t.purpose.as_ref()) {
                continue;
            }
            let Some(rule) = self.table_rule(policy, t, opts.today) else {
                if t.parent.is_some() {
                    out.skipped = Some("its rows go with their parent's".into());
                } else {
                    out.skipped = Some("no data category with a retention rule".into());
                }
                report.push(out);
                continue;
            };
            let periods: Vec<Period> = rule.periods().collect();
            let event = rule.default.event();
            let column = t
                .columns
                .iter()
                .find(|c| c.event == Some(event))
                .map(|c| c.name.clone());
            let same_event = periods.iter().all(|p| p.event() == event);
            if column.is_none() && t.parent.is_none() && self.orphan_date(t, event).is_some() {
                orphans.push((t, rule, out));
                continue;
            }
            let (Some(column), true) = (column, same_event) else {
                out.skipped = Some(if t.parent.is_some() {
                    format!(
                        "no `{}` date in this table: its rows go with their parent's",
                        event.as_str()
                    )
                } else {
                    format!(
                        "no `{}` date in this table; purge it from the table that holds it",
                        event.as_str()
                    )
                });
                report.push(out);
                continue;
            };
            let Some((earliest, latest)) = rule.cutoff_range(opts.today) else {
                continue;
            };
            out.cutoffs = periods
                .iter()
                .filter_map(|p| Some((p.event(), p.cutoff(opts.today)?)))
                .collect();
            // Rows past their active period move to the intermediate archive first (those in the
            // conditional window may then go with the others), so that a dry run counts the
            // same rows as the real run.
            if let (Some(flag), Some(archive)) = (&t.archive, rule.archive_period())
                && let Some(upto) = archive.cutoff(opts.today)
            {
                out.archive_cutoff = Some(upto);
                self.archive_where(t, &column, flag, earliest, upto, opts, &mut out)?;
            }
            // Rows past even the longest period go whatever the conditions say.
            self.purge_where(t, &column, None, earliest, None, opts, &mut out)?;
            if latest > earliest {
                self.purge_window(t, &column, &rule, earliest, opts, resolver, &mut out)?;
            }
            report.push(out);
        }
        for (t, rule, mut out) in orphans {
            self.purge_orphans(policy, t, &rule, opts, &mut out)?;
            report.push(out);
        }
        Ok(report)
    }

    /// The collection date of a parent table that lacks `event` while one of its children holds
    /// it: its rows are past their period once no child row outlives the sweep and they were
    /// collected longer ago than the period.
    fn orphan_date(&self, t: &TableMap, event: StartEvent) -> Option<String> {
        let collected = t
            .columns
            .iter()
            .find(|c| c.event == Some(StartEvent::Collection))?;
        self.map
            .children(&t.name)
            .any(|c| c.columns.iter().any(|col| col.event == Some(event)))
            .then(|| collected.name.clone())
    }

    /// Sweeps a parent table whose period runs from a date its children hold (the customers of
    /// the orders purpose): a row goes when it was collected longer ago than the longest period
    /// and none of its child rows outlives this sweep (every child row is past its own period,
    /// and neither restricted nor held). Its children are swept first, so the rows it deletes
    /// have none left; the DELETE checks it again, and a child row added meanwhile keeps its
    /// parent.
    fn purge_orphans(
        &self,
        policy: &Policy,
        t: &TableMap,
        rule: &RetentionRule,
        opts: PurgeOptions,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let Some(collected) = self.orphan_date(t, rule.default.event()) else {
            return Ok(());
        };
        let longest = |r: &RetentionRule| r.cutoff_range(opts.today).map(|(earliest, _)| earliest);
        let Some(upto) = longest(rule) else {
            return Ok(());
        };
        out.cutoffs = vec![(StartEvent::Collection, upto)];
        let survivors = |binds: &mut Binds| -> String {
            let mut sql = String::new();
            for child in self.map.children(&t.name) {
                let Some(link) = &child.parent else {
                    continue;
                };
                // A child row goes in this sweep when its table is swept on its own (it holds
                // its rule's date, every case from the same event, and the run covers it), it is
                // past the longest period of that rule (conditional cases are not assumed), and
                // it is neither restricted nor held. Otherwise it stays and keeps its parent.
                let gone = self.table_rule(policy, child, opts.today).and_then(|r| {
                    let event = r.default.event();
                    if r.cases.iter().any(|c| c.period.event() != event)
                        || opts.purpose.is_some_and(|p| p != child.purpose.as_ref())
                    {
                        return None;
                    }
                    let col = child.columns.iter().find(|c| c.event == Some(event))?;
                    let cutoff = longest(&r)?;
                    Some(format!(
                        "{c} IS NOT NULL AND {c} < {}{}",
                        self.dialect
                            .date_param(&binds.push(Bind::Text(next_day(cutoff)))),
                        self.exclusions(child, opts)(binds),
                        c = self.q(&col.name)
                    ))
                });
                sql.push_str(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {} WHERE {} = {}.{}{})",
                    self.q(&child.name),
                    self.q(&link.column),
                    self.q(&t.name),
                    self.q(&t.key),
                    gone.map_or(String::new(), |g| format!(" AND NOT ({g})"))
                ));
            }
            sql
        };
        self.purge_where(t, &collected, None, upto, Some(&survivors), opts, out)
    }

    /// Deletes, batch by batch, the rows with `after < column <= upto` (dates) that also meet
    /// `orphans` (parent rows with no child row left), when given.
    #[expect(
        clippy::too_many_arguments,
        reason = "two call sites; the pieces are distinct"
    )]
    fn purge_where(
        &self,
        t: &TableMap,
        column: &str,
        after: Option<NaiveDate>,
        upto: NaiveDate,
        orphans: Option<&dyn Fn(&mut Binds) -> String>,
        opts: PurgeOptions,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let mut conn = self.conn()?;
        let expired = |binds: &mut Binds| {
            let mut sql = format!(
                "{col} IS NOT NULL AND {col} < {}",
                self.dialect
                    .date_param(&binds.push(Bind::Text(next_day(upto)))),
                col = self.q(column)
            );
            if let Some(a) = after {
                sql.push_str(&format!(
                    " AND {} >= {}",
                    self.q(column),
                    self.dialect
                        .date_param(&binds.push(Bind::Text(next_day(a))))
                ));
            }
            if let Some(extra) = orphans {
                sql.push_str(&extra(binds));
            }
            sql
        };
        let exclusions = self.exclusions(t, opts);
        let condition = |binds: &mut Binds| {
            let mut sql = expired(binds);
            sql.push_str(&exclusions(binds));
            sql
        };
        // Rows past their period that stay are counted for the report: the restricted ones here,
        // the held ones page by page below.
        let count = |conn: &mut PooledConnection<Manager>,
                     with: &dyn Fn(&mut Binds) -> String|
         -> Result<u64, ConnectorError> {
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "SELECT {} AS doc FROM {} WHERE {}",
                self.dialect.json_object(&[("n".into(), "COUNT(*)".into())]),
                self.q(&t.name),
                with(&mut binds)
            );
            let docs = conn
                .exec()
                .docs(&sql, &binds.values)
                .map_err(self.query_err(&t.name))?;
            Ok(docs
                .first()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .map_or(0, |v| super::json_u64(v.get("n"))))
        };
        if t.restrict.is_some() {
            let all = count(&mut conn, &expired)?;
            let purgeable = count(&mut conn, &condition)?;
            out.kept += all.saturating_sub(purgeable);
        }
        // Keyset cursor: each batch starts after the last key of the previous one, so the scan
        // never walks again over the rows that stay (without it, a batch re-reads every kept row
        // before the expired ones and a sweep grows quadratic).
        let mut after: Option<Bind> = None;
        loop {
            let keys = self.page(&mut conn, t, &condition, after.as_ref(), opts.batch)?;
            if keys.is_empty() {
                return Ok(());
            }
            let n = keys.len();
            after = keys.last().cloned();
            let (keys, held) = self.drop_held(conn.exec(), t, keys, opts, orphans.is_some())?;
            out.kept += held;
            if keys.is_empty() {
                if n < opts.batch.max(1) {
                    return Ok(());
                }
                continue;
            }
            match (opts.dry_run, orphans.is_some()) {
                // Parents without children: nothing hangs off them.
                (true, true) => out.rows += keys.len() as u64,
                (true, false) => self.count_batch(&mut conn, t, keys, out)?,
                (false, true) => self.delete_orphans(&mut conn, t, keys, out)?,
                (false, false) => self.delete_batch(&mut conn, t, keys, out)?,
            }
            if n < opts.batch.max(1) {
                return Ok(());
            }
        }
    }

    /// Deletes parent rows `keys` that still have no child row, in one statement.
    fn delete_orphans(
        &self,
        conn: &mut super::PooledConnection<crate::sql::Manager>,
        t: &TableMap,
        keys: Vec<Bind>,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let started = Instant::now();
        let mut no_children = String::new();
        for child in self.map.children(&t.name) {
            if let Some(link) = &child.parent {
                no_children.push_str(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {} WHERE {} = {}.{})",
                    self.q(&child.name),
                    self.q(&link.column),
                    self.q(&t.name),
                    self.q(&t.key)
                ));
            }
        }
        let n = self.transaction(conn, |c| {
            run_in(c, self.dialect, &keys, &|binds, chunk| {
                format!(
                    "DELETE FROM {} WHERE {} IN ({}){no_children}",
                    self.q(&t.name),
                    self.q(&t.key),
                    binds.list(chunk)
                )
            })
            .map_err(self.query_err(&t.name))
        })?;
        out.rows += n as u64;
        out.timed(started);
        Ok(())
    }

    /// Sets the archive flag, batch by batch, of the rows with `after < column <= upto` that are
    /// not archived yet (a second run archives nothing more).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces are distinct"
    )]
    fn archive_where(
        &self,
        t: &TableMap,
        column: &str,
        flag: &str,
        after: NaiveDate,
        upto: NaiveDate,
        opts: PurgeOptions,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        if upto <= after {
            return Ok(());
        }
        let mut conn = self.conn()?;
        let due = |binds: &mut Binds| {
            format!(
                "{col} >= {} AND {col} < {} AND ({f} IS NULL OR {f} <> {})",
                self.dialect
                    .date_param(&binds.push(Bind::Text(next_day(after)))),
                self.dialect
                    .date_param(&binds.push(Bind::Text(next_day(upto)))),
                self.dialect.true_literal(),
                col = self.q(column),
                f = self.q(flag),
            )
        };
        let mut last: Option<Bind> = None;
        loop {
            let keys = self.page(&mut conn, t, &due, last.as_ref(), opts.batch)?;
            let n = keys.len();
            last = keys.last().cloned();
            if n > 0 {
                if opts.dry_run {
                    out.archived += n as u64;
                } else {
                    let started = Instant::now();
                    let changed = self.transaction(&mut conn, |c| {
                        run_in(c, self.dialect, &keys, &|binds, chunk| {
                            format!(
                                "UPDATE {} SET {} = {} WHERE {} IN ({})",
                                self.q(&t.name),
                                self.q(flag),
                                self.dialect.true_literal(),
                                self.q(&t.key),
                                binds.list(chunk)
                            )
                        })
                        .map_err(self.query_err(&t.name))
                    })?;
                    out.archived += changed as u64;
                    out.timed(started);
                }
            }
            if n < opts.batch.max(1) {
                return Ok(());
            }
        }
    }

    /// One page of a keyset walk: the keys of up to `batch` rows meeting `condition`, after the
    /// key `after`, in key order (each page starts where the last ended, so the walk never reads
    /// again the rows that stay).
    fn page(
        &self,
        conn: &mut PooledConnection<Manager>,
        t: &TableMap,
        condition: &dyn Fn(&mut Binds) -> String,
        after: Option<&Bind>,
        batch: usize,
    ) -> Result<Vec<Bind>, ConnectorError> {
        let key_ty = self.col_type(&t.name, &t.key);
        let mut binds = Binds::new(self.dialect);
        let mut sql = format!(
            "SELECT {} AS doc FROM {} WHERE {}",
            self.dialect.json_object(&[("k".into(), self.q(&t.key))]),
            self.q(&t.name),
            condition(&mut binds),
        );
        if let Some(a) = after {
            sql.push_str(&format!(
                " AND {} > {}",
                self.q(&t.key),
                binds.push(a.clone())
            ));
        }
        sql.push_str(&format!(
            " ORDER BY {} LIMIT {}",
            self.q(&t.key),
            batch.max(1)
        ));
        Ok(conn
            .exec()
            .docs(&sql, &binds.values)
            .map_err(self.query_err(&t.name))?
            .iter()
            .filter_map(|d| {
                serde_json::from_str::<Value>(d)
                    .ok()
                    .and_then(|v| v.get("k").and_then(|k| super::json_to_bind(k, key_ty)))
            })
            .collect())
    }

    /// The SQL that leaves out restricted rows (` AND …`, or empty). Held subjects are left
    /// out by [`Self::drop_held`], page by page: their list grows with the backlog and would
    /// not fit in one statement (issue 14).
    fn exclusions<'o>(
        &'o self,
        t: &'o TableMap,
        _opts: PurgeOptions<'o>,
    ) -> impl Fn(&mut Binds) -> String + 'o {
        move |_binds: &mut Binds| {
            let mut sql = String::new();
            if let Some(col) = &t.restrict {
                sql.push_str(&format!(
                    " AND ({c} IS NULL OR {c} <> {})",
                    self.dialect.true_literal(),
                    c = self.q(col)
                ));
            }
            sql
        }
    }

    /// How the rows of `t` held by `held` are found: each identity column in the held values of
    /// its kind, and the parent link in the held values of the parent key's kind (an order of a
    /// held customer stays); values bound as their column's type.
    fn held_predicate(&self, t: &TableMap, held: &Identities) -> super::Predicate {
        let mut pred = super::Predicate::new();
        let mut add = |col: &str, kind: &str, ty| {
            let values: Vec<Bind> = held
                .get(kind)
                .into_iter()
                .flatten()
                .filter_map(|v| super::text_to_bind(v, ty))
                .collect();
            if !values.is_empty() {
                pred.push((col.to_owned(), values));
            }
        };
        if let Some(p) = &t.parent
            && let Some(parent) = self.map.table(&p.table)
            && let Some(kind) = parent.column(&parent.key).and_then(|c| c.identity.clone())
        {
            add(&p.column, &kind, self.col_type(&p.table, &parent.key));
        }
        for (col, kind) in t.identities() {
            add(col, kind, self.col_type(&t.name, col));
        }
        pred
    }

    /// The values of `via` among `keys` for the rows of `t` whose subject is held: `via IN
    /// (keys)` and one held column's values, each list chunked; the union of the answers. The
    /// server compares, with the column's own type and collation, as `NOT IN` did.
    fn held_among(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        via: &str,
        keys: &[Bind],
        held: &Identities,
    ) -> Result<BTreeSet<Bind>, ConnectorError> {
        let ty = self.col_type(&t.name, via);
        let mut out = BTreeSet::new();
        for (col, values) in self.held_predicate(t, held) {
            for held_chunk in values.chunks(crate::sql::CHUNK) {
                let docs = docs_in(c, self.dialect, keys, &|binds, chunk| {
                    format!(
                        "SELECT {} AS doc FROM {} WHERE {} IN ({}) AND {} IN ({})",
                        self.dialect.json_object(&[("k".into(), self.q(via))]),
                        self.q(&t.name),
                        self.q(via),
                        binds.list(chunk),
                        self.q(&col),
                        binds.list(held_chunk)
                    )
                })
                .map_err(self.query_err(&t.name))?;
                out.extend(docs.iter().filter_map(|d| {
                    serde_json::from_str::<Value>(d)
                        .ok()
                        .and_then(|v| v.get("k").and_then(|k| super::json_to_bind(k, ty)))
                }));
            }
        }
        Ok(out)
    }

    /// `keys` of `t` without the rows whose subject is held (issue 14: checked page by page,
    /// chunk by chunk, instead of one `NOT IN` as long as the backlog), and how many were held.
    /// With `orphans`, a parent row with a held child row stays too (the child stays, and keeps
    /// it), uncounted as before.
    fn drop_held(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        keys: Vec<Bind>,
        opts: PurgeOptions,
        orphans: bool,
    ) -> Result<(Vec<Bind>, u64), ConnectorError> {
        let Some(held) = opts.held.filter(|h| h.values().any(|v| !v.is_empty())) else {
            return Ok((keys, 0));
        };
        if keys.is_empty() {
            return Ok((keys, 0));
        }
        let own = self.held_among(c, t, &t.key, &keys, held)?;
        let mut through_children = BTreeSet::new();
        if orphans {
            for child in self.map.children(&t.name) {
                if let Some(link) = &child.parent {
                    through_children.extend(self.held_among(
                        c,
                        child,
                        &link.column,
                        &keys,
                        held,
                    )?);
                }
            }
        }
        let kept: Vec<Bind> = keys
            .into_iter()
            .filter(|k| !own.contains(k) && !through_children.contains(k))
            .collect();
        Ok((kept, own.len() as u64))
    }

    /// Rows between the longest and the shortest period: each one's period depends on a
    /// condition about its subject, asked of the resolver.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces are distinct"
    )]
    fn purge_window(
        &self,
        t: &TableMap,
        column: &str,
        rule: &RetentionRule,
        earliest: NaiveDate,
        opts: PurgeOptions,
        resolver: &mut Resolver<'_>,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let mut conn = self.conn()?;
        let key_ty = self.col_type(&t.name, &t.key);
        let latest = rule
            .cutoff_range(opts.today)
            .map_or(earliest, |(_, latest)| latest);
        let mut pairs = vec![
            ("k".to_owned(), self.q(&t.key)),
            ("d".to_owned(), self.q(column)),
        ];
        pairs.extend(
            t.identities()
                .map(|(col, _)| (format!("i_{col}"), self.q(col))),
        );
        let mut after_key: Option<Bind> = None;
        loop {
            let mut binds = Binds::new(self.dialect);
            let mut sql = format!(
                "SELECT {} AS doc FROM {} WHERE {col} >= {} AND {col} < {}",
                self.dialect.json_object(&pairs),
                self.q(&t.name),
                self.dialect
                    .date_param(&binds.push(Bind::Text(next_day(earliest)))),
                self.dialect
                    .date_param(&binds.push(Bind::Text(next_day(latest)))),
                col = self.q(column)
            );
            if let Some(k) = &after_key {
                sql.push_str(&format!(
                    " AND {} > {}",
                    self.q(&t.key),
                    binds.push(k.clone())
                ));
            }
            sql.push_str(&self.exclusions(t, opts)(&mut binds));
            sql.push_str(&format!(
                " ORDER BY {} LIMIT {}",
                self.q(&t.key),
                opts.batch.max(1)
            ));
            let docs = conn
                .exec()
                .docs(&sql, &binds.values)
                .map_err(self.query_err(&t.name))?;
            let page = docs.len();
            let rows: Vec<(Bind, serde_json::Map<String, Value>)> = docs
                .iter()
                .filter_map(|doc| match serde_json::from_str::<Value>(doc) {
                    Ok(Value::Object(row)) => {
                        let key = row.get("k").and_then(|k| super::json_to_bind(k, key_ty))?;
                        Some((key, row))
                    }
                    _ => None,
                })
                .collect();
            after_key = rows.last().map(|(k, _)| k.clone()).or(after_key);
            // Held subjects' rows stay, and their conditions are not asked.
            let (free, _) = self.drop_held(
                conn.exec(),
                t,
                rows.iter().map(|(k, _)| k.clone()).collect(),
                opts,
                false,
            )?;
            let free: BTreeSet<Bind> = free.into_iter().collect();
            let mut expired = Vec::new();
            for (key, row) in rows {
                if !free.contains(&key) {
                    continue;
                }
                let Some(date) = super::json_date(row.get("d")) else {
                    continue;
                };
                let mut ids = Identities::new();
                for (col, kind) in t.identities() {
                    if let Some(v) = row.get(&format!("i_{col}")).and_then(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .or_else(|| v.as_i64().map(|i| i.to_string()))
                    }) {
                        ids.entry(kind.to_owned()).or_default().insert(v);
                    }
                }
                let mut period = rule.default;
                for case in &rule.cases {
                    if resolver(&case.condition, &ids)? {
                        period = case.period;
                        break;
                    }
                }
                if period.cutoff(opts.today).is_some_and(|c| date <= c) {
                    expired.push(key);
                }
            }
            if !expired.is_empty() {
                if opts.dry_run {
                    self.count_batch(&mut conn, t, expired, out)?;
                } else {
                    self.delete_batch(&mut conn, t, expired, out)?;
                }
            }
            if page < opts.batch.max(1) {
                return Ok(());
            }
        }
    }

    /// Deletes `keys` of `t` and every row hanging off them, in one transaction.
    fn delete_batch(
        &self,
        conn: &mut super::PooledConnection<crate::sql::Manager>,
        t: &TableMap,
        keys: Vec<Bind>,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let started = Instant::now();
        let mut children: Vec<(String, u64)> = Vec::new();
        let n = self.transaction(conn, |c| self.delete_subtree(c, t, &keys, &mut children))?;
        out.rows += n;
        Self::merge_children(out, children);
        out.timed(started);
        Ok(())
    }

    /// The keys of `child`'s rows that hang off the parent rows `keys`, without repeats.
    fn child_keys(
        &self,
        c: &mut dyn Exec,
        child: &TableMap,
        keys: &[Bind],
    ) -> Result<Vec<Bind>, ConnectorError> {
        let Some(link) = &child.parent else {
            return Ok(Vec::new());
        };
        let child_ty = self.col_type(&child.name, &child.key);
        Ok(docs_in(c, self.dialect, keys, &|binds, chunk| {
            format!(
                "SELECT {} AS doc FROM {} WHERE {} IN ({})",
                self.dialect
                    .json_object(&[("k".into(), self.q(&child.key))]),
                self.q(&child.name),
                self.q(&link.column),
                binds.list(chunk)
            )
        })
        .map_err(self.query_err(&child.name))?
        .iter()
        .filter_map(|d| {
            serde_json::from_str::<Value>(d)
                .ok()
                .and_then(|v| v.get("k").and_then(|k| super::json_to_bind(k, child_ty)))
        })
        .collect::<BTreeSet<Bind>>()
        .into_iter()
        .collect())
    }

    /// Adds a batch's child-row counts to the table's report.
    fn merge_children(out: &mut TablePurge, children: Vec<(String, u64)>) {
        for (table, rows) in children {
            match out.children.iter_mut().find(|(t, _)| *t == table) {
                Some(slot) => slot.1 += rows,
                None => out.children.push((table, rows)),
            }
        }
    }

    /// A dry run's batch: the rows and the child rows that would go with them, counted.
    fn count_batch(
        &self,
        conn: &mut super::PooledConnection<crate::sql::Manager>,
        t: &TableMap,
        keys: Vec<Bind>,
        out: &mut TablePurge,
    ) -> Result<(), ConnectorError> {
        let mut children: Vec<(String, u64)> = Vec::new();
        out.rows += keys.len() as u64;
        self.count_subtree(conn.exec(), t, &keys, &mut children)?;
        Self::merge_children(out, children);
        Ok(())
    }

    fn count_subtree(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        keys: &[Bind],
        counted: &mut Vec<(String, u64)>,
    ) -> Result<(), ConnectorError> {
        for child in self.map.children(&t.name) {
            let child_keys = self.child_keys(c, child, keys)?;
            if !child_keys.is_empty() {
                self.count_subtree(c, child, &child_keys, counted)?;
                counted.push((child.name.clone(), child_keys.len() as u64));
            }
        }
        Ok(())
    }

    fn delete_subtree(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        keys: &[Bind],
        deleted: &mut Vec<(String, u64)>,
    ) -> Result<u64, ConnectorError> {
        for child in self.map.children(&t.name) {
            let child_keys = self.child_keys(c, child, keys)?;
            if !child_keys.is_empty() {
                let n = self.delete_subtree(c, child, &child_keys, deleted)?;
                deleted.push((child.name.clone(), n));
            }
        }
        Ok(run_in(c, self.dialect, keys, &|binds, chunk| {
            format!(
                "DELETE FROM {} WHERE {} IN ({})",
                self.q(&t.name),
                self.q(&t.key),
                binds.list(chunk)
            )
        })
        .map_err(self.query_err(&t.name))? as u64)
    }
}
