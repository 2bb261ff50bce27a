//! One site store: open and check it, find a subject's records, export them, and carry out plans.

use crate::schema::{self, ColType, LiveSchema};
use crate::sql::{
    Bind, Binds, CHUNK, Counted, DbError, Dialect, Exec, MAX_PARAMS, Manager, Statements,
};
use crate::{ConnectorError, class};
use chrono::NaiveDate;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use rightful_core::policy::{CategoryId, FieldId, PurposeId};
use rightful_core::retention::StartEvent;
use rightful_core::rights::{Action, Plan, SubjectFacts};
use rightful_core::storemap::{ColumnErase, StoreMap, TableErase, TableMap};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Identity values by kind (`email` → {…}, `customer_id` → {…}).
pub type Identities = BTreeMap<String, BTreeSet<String>>;

mod purge;
pub use purge::{PurgeOptions, TablePurge};

/// Rows per export page.
const PAGE: i64 = 500;

/// How a subject's rows are found in one table: `column IN (values)`, OR-ed.
type Predicate = Vec<(String, Vec<Bind>)>;

/// Rows per keyed-hash `UPDATE` at most (issue 14): one statement sets the hashes of this many
/// rows through a `CASE` on their key.
const HASH_ROWS: usize = 1_000;

/// The values a predicate binds.
fn bound(pred: &Predicate) -> usize {
    pred.iter().map(|(_, v)| v.len()).sum()
}

/// The predicate split so that no piece binds more than [`CHUNK`] values: itself when it fits,
/// otherwise one `column IN (chunk)` per chunk of each column's values. A row may match several
/// pieces: only for statements where repeats do no harm (collecting keys into a set).
fn pieces(pred: &Predicate) -> Vec<Predicate> {
    if bound(pred) <= CHUNK {
        return vec![pred.clone()];
    }
    pred.iter()
        .flat_map(|(col, vals)| {
            vals.chunks(CHUNK)
                .map(|ch| vec![(col.clone(), ch.to_vec())])
        })
        .collect()
}

/// What discovery found in one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableHit {
    /// Table.
    pub table: String,
    /// The purpose its rows serve.
    pub purpose: PurposeId,
    /// Matching rows.
    pub rows: u64,
    /// Latest date of each retention event among them.
    pub events: BTreeMap<StartEvent, NaiveDate>,
    /// Rows whose end-of-contract date is still empty (a contract running).
    pub open_contracts: u64,
    predicate: Predicate,
}

/// Everything found of a subject in one store.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Store name.
    pub store: String,
    /// Tables with rows, parents first.
    pub hits: Vec<TableHit>,
    /// The identities searched, including those found on the way (enrichment).
    pub identities: Identities,
}

impl Found {
    /// The hit for a table.
    pub fn hit(&self, table: &str) -> Option<&TableHit> {
        self.hits.iter().find(|h| h.table == table)
    }

    /// Adds what this store knows to the subject's facts (purposes present, event dates,
    /// running contracts).
    pub fn add_facts(&self, facts: &mut SubjectFacts) {
        for h in &self.hits {
            let pf = facts.purposes.entry(h.purpose.clone()).or_default();
            for (e, d) in &h.events {
                let slot = pf.events.entry(*e).or_insert(*d);
                if d > slot {
                    *slot = *d;
                }
            }
            pf.contract_running |= h.open_contracts > 0;
        }
    }
}

/// One exported row: where it lives and each mapped value with its policy field.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRow {
    /// Store.
    pub store: String,
    /// Table.
    pub table: String,
    /// Purpose.
    pub purpose: PurposeId,
    /// `(column, category, field, value)` for every data column.
    pub values: Vec<(String, CategoryId, FieldId, Value)>,
}

/// What an operation changed, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// `(table, operation, rows)`: operation is `delete`, `anonymise`, `rectify` or `restrict`.
    pub changes: Vec<(String, &'static str, u64)>,
    /// Tables whose rows are restricted but that have no restriction column: the engine must
    /// record the restriction itself.
    pub unrecorded_restrictions: Vec<String>,
}

/// An operation's error, or the driver's while beginning or committing.
enum TxError {
    Op(ConnectorError),
    Db(DbError),
}

impl From<DbError> for TxError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

/// A connector to one site store.
pub struct Connector {
    map: StoreMap,
    dialect: Dialect,
    pool: Pool<Manager>,
    /// Opens a fresh connection for [`Connector::ping`] (the pool keeps its manager to itself).
    probe: Manager,
    live: LiveSchema,
    hash_key: Vec<u8>,
    /// Statements run inside transactions, counted (issue 14: set-based anonymisation).
    statements: Statements,
    /// Missing indexes and similar, found when opening.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("store", &self.map.name)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

fn json_to_bind(v: &Value, ty: ColType) -> Option<Bind> {
    match (v, ty) {
        (Value::Number(n), ColType::Int) => n.as_i64().map(Bind::Int),
        (Value::String(s), ColType::Int) => s.parse().ok().map(Bind::Int),
        (Value::Number(n), _) => Some(Bind::Text(n.to_string())),
        (Value::String(s), _) => Some(Bind::Text(s.clone())),
        _ => None,
    }
}

/// An identity or new value as a bound value of the column's type; `None` when it cannot be one
/// (text that is not a number for an integer column, or a NUL byte, which no database stores in
/// text), so that it matches nothing.
fn text_to_bind(s: &str, ty: ColType) -> Option<Bind> {
    if s.contains('\0') {
        return None;
    }
    match ty {
        ColType::Int => s.trim().parse().ok().map(Bind::Int),
        ColType::Text | ColType::Other => Some(Bind::Text(s.to_owned())),
    }
}

fn json_u64(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.parse::<f64>().map(|f| f as u64).unwrap_or(0),
        _ => 0,
    }
}

fn json_date(v: Option<&Value>) -> Option<NaiveDate> {
    let s = v?.as_str()?;
    s.get(..10)?.parse().ok()
}

impl Connector {
    /// Connects to `url`, reads the live schema and checks the map against it. Fails with every
    /// problem listed when the map does not fit; `hash_key` is the secret of the `hash` strategy.
    pub fn open(map: StoreMap, url: &str, hash_key: Vec<u8>) -> Result<Self, ConnectorError> {
        let dialect = Dialect::parse_url(url).map_err(|message| ConnectorError::Invalid {
            store: map.name.clone(),
            message,
        })?;
        let unreachable = |code: String| ConnectorError::Unreachable {
            store: map.name.clone(),
            code,
        };
        let manager = Manager {
            url: url.to_owned(),
        };
        // One direct attempt first: the driver's real error, at once, instead of the pool's
        // retries until its timeout.
        let mut first = manager
            .connect()
            .map_err(|e| unreachable(e.code(dialect)))?;
        let live = schema::read(first.exec(), dialect).map_err(|e| ConnectorError::Query {
            store: map.name.clone(),
            table: "(catalogue)".into(),
            code: class::code_of(dialect, &e),
        })?;
        drop(first);
        let probe = manager.clone();
        let pool = Pool::builder()
            .max_size(4)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|_| unreachable("pool".into()))?;
        let (problems, warnings) = schema::check(&map, &live);
        if !problems.is_empty() {
            return Err(ConnectorError::Schema {
                store: map.name.clone(),
                problems,
            });
        }
        for w in &warnings {
            tracing::warn!(store.name = %map.name, warning = %w, "store map");
        }
        Ok(Self {
            map,
            dialect,
            pool,
            probe,
            live,
            hash_key,
            statements: Statements::default(),
            warnings,
        })
    }

    /// Whether the store answers now: a fresh connection and `SELECT 1` (readiness, issue 13
    /// item 7). The error carries the driver's code only, never its text.
    pub fn ping(&self) -> Result<(), ConnectorError> {
        let unreachable = |code: String| ConnectorError::Unreachable {
            store: self.map.name.clone(),
            code,
        };
        let manager = &self.probe;
        let mut conn = manager
            .connect()
            .map_err(|e| unreachable(e.code(self.dialect)))?;
        manager
            .is_valid(&mut conn)
            .map_err(|e| unreachable(e.code(self.dialect)))
    }

    /// The store's map.
    pub fn map(&self) -> &StoreMap {
        &self.map
    }

    /// `(queries, changes)`: the statements this connector ran inside its transactions so far
    /// (erase, rectify, restrict, purge, archive), counted apart.
    pub fn statements(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.statements.queries.load(Relaxed),
            self.statements.changes.load(Relaxed),
        )
    }

    /// Runs `f` in one transaction on `conn`; begin/commit failures name the store.
    fn transaction<T>(
        &self,
        conn: &mut PooledConnection<Manager>,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        conn.transaction(|c| {
            let mut counted = Counted {
                inner: c,
                counts: &self.statements,
            };
            f(&mut counted).map_err(TxError::Op)
        })
        .map_err(|e| match e {
            TxError::Op(e) => e,
            TxError::Db(e) => ConnectorError::Query {
                store: self.map.name.clone(),
                table: "(transaction)".into(),
                code: class::code_of(self.dialect, &e),
            },
        })
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, ConnectorError> {
        // The pool's error repeats the driver's last connection error: only its class is kept.
        self.pool.get().map_err(|_| ConnectorError::Unreachable {
            store: self.map.name.clone(),
            code: "connect".into(),
        })
    }

    fn query_err(&self, table: &str) -> impl Fn(DbError) -> ConnectorError + '_ {
        let table = table.to_owned();
        move |e| ConnectorError::Query {
            store: self.map.name.clone(),
            table: table.clone(),
            code: class::code_of(self.dialect, &e),
        }
    }

    fn col_type(&self, table: &str, column: &str) -> ColType {
        self.live
            .get(table)
            .and_then(|t| t.get(column))
            .map_or(ColType::Other, |c| c.ty)
    }

    fn q(&self, ident: &str) -> String {
        self.dialect.quote(ident)
    }

    fn where_sql(&self, pred: &Predicate, binds: &mut Binds) -> String {
        let parts: Vec<String> = pred
            .iter()
            .map(|(col, vals)| format!("{} IN ({})", self.q(col), binds.list(vals)))
            .collect();
        format!("({})", parts.join(" OR "))
    }

    /// The keys of the rows matching `pred`, without repeats, found piece by piece so that no
    /// statement binds more than [`CHUNK`] values.
    fn keys_where(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        pred: &Predicate,
    ) -> Result<Vec<Bind>, ConnectorError> {
        let key_ty = self.col_type(&t.name, &t.key);
        let mut keys = BTreeSet::new();
        for p in pieces(pred) {
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "SELECT {} AS doc FROM {} WHERE {}",
                self.dialect.json_object(&[("k".into(), self.q(&t.key))]),
                self.q(&t.name),
                self.where_sql(&p, &mut binds)
            );
            for doc in c
                .docs(&sql, &binds.values)
                .map_err(self.query_err(&t.name))?
            {
                if let Some(k) = serde_json::from_str::<Value>(&doc)
                    .ok()
                    .and_then(|v| v.get("k").and_then(|k| json_to_bind(k, key_ty)))
                {
                    keys.insert(k);
                }
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// Predicates that together match exactly the rows of `pred`, each row once, none binding
    /// more than [`CHUNK`] values: `pred` itself when it fits; otherwise the keys of its rows
    /// (found by [`Self::keys_where`]) in chunks, `key IN (chunk)`. Counts over them add up.
    fn disjoint(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        pred: &Predicate,
    ) -> Result<Vec<Predicate>, ConnectorError> {
        if bound(pred) <= CHUNK {
            return Ok(vec![pred.clone()]);
        }
        let keys = self.keys_where(c, t, pred)?;
        Ok(keys
            .chunks(CHUNK)
            .map(|ch| vec![(t.key.clone(), ch.to_vec())])
            .collect())
    }

    fn predicate(
        &self,
        t: &TableMap,
        ids: &Identities,
        keys: &BTreeMap<String, BTreeSet<Bind>>,
    ) -> Predicate {
        let mut pred = Predicate::new();
        for (col, kind) in t.identities() {
            let ty = self.col_type(&t.name, col);
            let vals: Vec<Bind> = ids
                .get(kind)
                .into_iter()
                .flatten()
                .filter_map(|v| text_to_bind(v, ty))
                .collect();
            if !vals.is_empty() {
                pred.push((col.to_owned(), vals));
            }
        }
        if let Some(p) = &t.parent
            && let Some(parent_keys) = keys.get(&p.table)
            && !parent_keys.is_empty()
        {
            pred.push((p.column.clone(), parent_keys.iter().cloned().collect()));
        }
        pred
    }

    /// Finds every row of the subject: tables searched by the identities they hold, then rows
    /// hanging off rows already found; identity values found on the way (a customer id found by
    /// e-mail) are searched too, until nothing new turns up. One statement per table per round.
    pub fn discover(&self, identities: &Identities) -> Result<Found, ConnectorError> {
        let mut conn = self.conn()?;
        let c = conn.exec();
        let mut ids = identities.clone();
        let mut keys: BTreeMap<String, BTreeSet<Bind>> = BTreeMap::new();
        for _round in 0..4 {
            let mut changed = false;
            for t in &self.map.tables {
                let has_children = self.map.children(&t.name).next().is_some();
                let enriches = t.identities().count() > 1;
                if !has_children && !enriches {
                    continue;
                }
                let pred = self.predicate(t, &ids, &keys);
                if pred.is_empty() {
                    continue;
                }
                let mut pairs = vec![("k".to_owned(), self.q(&t.key))];
                pairs.extend(
                    t.identities()
                        .map(|(col, _)| (format!("i_{col}"), self.q(col))),
                );
                // Repeats across pieces do no harm: keys and identities go into sets.
                let mut docs = Vec::new();
                for p in pieces(&pred) {
                    let mut binds = Binds::new(self.dialect);
                    let sql = format!(
                        "SELECT {} AS doc FROM {} WHERE {}",
                        self.dialect.json_object(&pairs),
                        self.q(&t.name),
                        self.where_sql(&p, &mut binds)
                    );
                    docs.extend(
                        c.docs(&sql, &binds.values)
                            .map_err(self.query_err(&t.name))?,
                    );
                }
                for doc in docs {
                    let Ok(Value::Object(row)) = serde_json::from_str::<Value>(&doc) else {
                        continue;
                    };
                    if let Some(k) = row
                        .get("k")
                        .and_then(|k| json_to_bind(k, self.col_type(&t.name, &t.key)))
                    {
                        changed |= keys.entry(t.name.clone()).or_default().insert(k);
                    }
                    for (col, kind) in t.identities() {
                        let v = match row.get(&format!("i_{col}")) {
                            Some(Value::String(s)) => s.clone(),
                            Some(Value::Number(n)) => n.to_string(),
                            _ => continue,
                        };
                        changed |= ids.entry(kind.to_owned()).or_default().insert(v);
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut hits = Vec::new();
        for t in &self.map.tables {
            let pred = self.predicate(t, &ids, &keys);
            if pred.is_empty() {
                continue;
            }
            let mut pairs = vec![("n".to_owned(), "COUNT(*)".to_owned())];
            let events: Vec<(&str, StartEvent)> = t
                .columns
                .iter()
                .filter_map(|c| c.event.map(|e| (c.name.as_str(), e)))
                .collect();
            for (col, e) in &events {
                pairs.push((format!("e_{col}"), format!("MAX({})", self.q(col))));
                if *e == StartEvent::EndOfContract {
                    pairs.push((
                        format!("o_{col}"),
                        format!("SUM(CASE WHEN {} IS NULL THEN 1 ELSE 0 END)", self.q(col)),
                    ));
                }
            }
            // Disjoint parts: their counts add up, their latest dates give the latest.
            let mut rows = 0;
            let mut ev = BTreeMap::new();
            let mut open = 0;
            for p in self.disjoint(c, t, &pred)? {
                let mut binds = Binds::new(self.dialect);
                let sql = format!(
                    "SELECT {} AS doc FROM {} WHERE {}",
                    self.dialect.json_object(&pairs),
                    self.q(&t.name),
                    self.where_sql(&p, &mut binds)
                );
                let docs = c
                    .docs(&sql, &binds.values)
                    .map_err(self.query_err(&t.name))?;
                let Some(Ok(Value::Object(agg))) =
                    docs.first().map(|d| serde_json::from_str::<Value>(d))
                else {
                    continue;
                };
                rows += json_u64(agg.get("n"));
                for (col, e) in &events {
                    if let Some(d) = json_date(agg.get(&format!("e_{col}"))) {
                        let slot = ev.entry(*e).or_insert(d);
                        if d > *slot {
                            *slot = d;
                        }
                    }
                    open += json_u64(agg.get(&format!("o_{col}")));
                }
            }
            if rows == 0 {
                continue;
            }
            hits.push(TableHit {
                table: t.name.clone(),
                purpose: t.purpose.clone(),
                rows,
                events: ev,
                open_contracts: open,
                predicate: pred,
            });
        }
        Ok(Found {
            store: self.map.name.clone(),
            hits,
            identities: ids,
        })
    }

    /// Streams every found row to `sink`, page by page (bounded memory whatever the row count).
    pub fn export(
        &self,
        found: &Found,
        sink: &mut dyn FnMut(ExportedRow) -> Result<(), ConnectorError>,
    ) -> Result<u64, ConnectorError> {
        let mut conn = self.conn()?;
        let c = conn.exec();
        let mut total = 0;
        for hit in &found.hits {
            let Some(t) = self.map.table(&hit.table) else {
                continue;
            };
            let data: Vec<_> = t.columns.iter().filter(|col| col.field.is_some()).collect();
            let mut pairs = vec![("k".to_owned(), self.q(&t.key))];
            pairs.extend(
                data.iter()
                    .map(|col| (format!("c_{}", col.name), self.q(&col.name))),
            );
            let key_ty = self.col_type(&t.name, &t.key);
            for part in self.disjoint(c, t, &hit.predicate)? {
                let mut after: Option<Bind> = None;
                loop {
                    let mut binds = Binds::new(self.dialect);
                    let mut sql = format!(
                        "SELECT {} AS doc FROM {} WHERE {}",
                        self.dialect.json_object(&pairs),
                        self.q(&t.name),
                        self.where_sql(&part, &mut binds)
                    );
                    if let Some(a) = &after {
                        sql.push_str(&format!(
                            " AND {} > {}",
                            self.q(&t.key),
                            binds.push(a.clone())
                        ));
                    }
                    // One page is enough when discovery counted no more rows than a page: no ORDER BY,
                    // so the planner uses the index of the predicate instead of walking the key
                    // index in order (250 ms against 0.1 ms on a million orders).
                    let paged = hit.rows > PAGE as u64;
                    if paged {
                        sql.push_str(&format!(" ORDER BY {} LIMIT {PAGE}", self.q(&t.key)));
                    }
                    let docs = c
                        .docs(&sql, &binds.values)
                        .map_err(self.query_err(&t.name))?;
                    let n = docs.len();
                    for doc in docs {
                        let Ok(Value::Object(mut row)) = serde_json::from_str::<Value>(&doc) else {
                            continue;
                        };
                        after = row.get("k").and_then(|k| json_to_bind(k, key_ty));
                        let values = data
                            .iter()
                            .filter_map(|col| {
                                let (_, cat, field) = col.field.clone()?;
                                Some((
                                    col.name.clone(),
                                    cat,
                                    field,
                                    row.remove(&format!("c_{}", col.name))
                                        .unwrap_or(Value::Null),
                                ))
                            })
                            .collect();
                        sink(ExportedRow {
                            store: self.map.name.clone(),
                            table: t.name.clone(),
                            purpose: t.purpose.clone(),
                            values,
                        })?;
                        total += 1;
                    }
                    if !paged || n < PAGE as usize || after.is_none() {
                        break;
                    }
                }
            }
        }
        Ok(total)
    }

    /// Carries out the erasure items of `plan` on the found rows, in one transaction, children
    /// before parents: a row whose categories are all erased is deleted when its table says so;
    /// otherwise the erased columns get their strategy (null, replacement, keyed hash) and the
    /// row stays. Kept categories are left untouched. Running it twice changes nothing more.
    pub fn erase(&self, found: &Found, plan: &Plan) -> Result<Applied, ConnectorError> {
        let mut conn = self.conn()?;
        self.transaction(&mut conn, |c| {
            let mut applied = Applied::default();
            for t in self.map.erasure_order() {
                let Some(hit) = found.hit(&t.name) else {
                    continue;
                };
                let cats = t.categories();
                let erased: BTreeSet<CategoryId> = cats
                    .iter()
                    .filter(|cat| {
                        matches!(
                            plan.action(t.purpose.as_ref(), cat.as_ref()),
                            Some(Action::Erase { .. } | Action::Anonymise { .. })
                        )
                    })
                    .cloned()
                    .collect();
                if erased.is_empty() {
                    continue;
                }
                if t.erase == TableErase::Delete && erased == cats {
                    let mut n = 0;
                    for part in self.disjoint(c, t, &hit.predicate)? {
                        let mut binds = Binds::new(self.dialect);
                        let sql = format!(
                            "DELETE FROM {} WHERE {}",
                            self.q(&t.name),
                            self.where_sql(&part, &mut binds)
                        );
                        n += c
                            .run(&sql, &binds.values)
                            .map_err(self.query_err(&t.name))? as u64;
                    }
                    applied.changes.push((t.name.clone(), "delete", n));
                } else {
                    let n = self.anonymise(c, t, hit, &erased)?;
                    applied.changes.push((t.name.clone(), "anonymise", n));
                }
            }
            Ok(applied)
        })
    }

    fn anonymise(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        hit: &TableHit,
        erased: &BTreeSet<CategoryId>,
    ) -> Result<u64, ConnectorError> {
        let cols: Vec<_> = t
            .columns
            .iter()
            .filter(|col| {
                col.field
                    .as_ref()
                    .is_some_and(|(_, cat, _)| erased.contains(cat))
            })
            .collect();
        // `(column, value)`: NULL when no value.
        let mut sets: Vec<(&str, Option<Bind>)> = Vec::new();
        let mut hashed = Vec::new();
        for col in &cols {
            match &col.erase {
                Some(ColumnErase::Null) => sets.push((col.name.as_str(), None)),
                Some(ColumnErase::Replace(v)) => sets.push((
                    col.name.as_str(),
                    Some(
                        text_to_bind(v, self.col_type(&t.name, &col.name))
                            .unwrap_or(Bind::Text(v.clone())),
                    ),
                )),
                Some(ColumnErase::Hash) => hashed.push(col.name.as_str()),
                None => {
                    return Err(ConnectorError::Invalid {
                        store: self.map.name.clone(),
                        message: format!(
                            "table `{}`: column `{}` must be erased but its row stays, and the map gives no strategy for it",
                            t.name, col.name
                        ),
                    });
                }
            }
        }
        let parts = self.disjoint(c, t, &hit.predicate)?;
        let mut changed = 0;
        if !sets.is_empty() {
            for part in &parts {
                let mut binds = Binds::new(self.dialect);
                let assignments: Vec<String> = sets
                    .iter()
                    .map(|(col, v)| match v {
                        None => format!("{} = NULL", self.q(col)),
                        Some(v) => format!("{} = {}", self.q(col), binds.push(v.clone())),
                    })
                    .collect();
                let sql = format!(
                    "UPDATE {} SET {} WHERE {}",
                    self.q(&t.name),
                    assignments.join(", "),
                    self.where_sql(part, &mut binds)
                );
                changed += c
                    .run(&sql, &binds.values)
                    .map_err(self.query_err(&t.name))? as u64;
            }
        }
        if !hashed.is_empty() {
            changed = changed.max(self.hash_columns(c, t, &parts, &hashed)?);
        }
        Ok(changed)
    }

    /// The keyed-hash strategy, set-based (issue 14): the rows' clear values are read, their
    /// hashes computed here, then written by one `UPDATE` per [`HASH_ROWS`] rows
    /// (`SET c = CASE key WHEN ? THEN ? … ELSE c END WHERE key IN (…)`), not one per row. Only
    /// rows still holding a clear value change; how many.
    fn hash_columns(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        parts: &[Predicate],
        hashed: &[&str],
    ) -> Result<u64, ConnectorError> {
        let mut pairs = vec![("k".to_owned(), self.q(&t.key))];
        pairs.extend(hashed.iter().map(|col| (format!("h_{col}"), self.q(col))));
        let key_ty = self.col_type(&t.name, &t.key);
        // Per row: its key and the new value of each hashed column (`None`: already hashed).
        let mut rows: Vec<(Bind, Vec<Option<String>>)> = Vec::new();
        for part in parts {
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "SELECT {} AS doc FROM {} WHERE {}",
                self.dialect.json_object(&pairs),
                self.q(&t.name),
                self.where_sql(part, &mut binds)
            );
            for doc in c
                .docs(&sql, &binds.values)
                .map_err(self.query_err(&t.name))?
            {
                let Ok(Value::Object(row)) = serde_json::from_str::<Value>(&doc) else {
                    continue;
                };
                let Some(key) = row.get("k").and_then(|k| json_to_bind(k, key_ty)) else {
                    continue;
                };
                let news: Vec<Option<String>> = hashed
                    .iter()
                    .map(|col| {
                        let Some(Value::String(old)) = row.get(&format!("h_{col}")) else {
                            return None;
                        };
                        let new = crate::hash::keyed(&self.hash_key, old, None);
                        (&new != old).then_some(new)
                    })
                    .collect();
                if news.iter().any(Option::is_some) {
                    rows.push((key, news));
                }
            }
        }
        // Each row binds its key once per column it changes, each new value, and its key in
        // the `IN` list.
        let per_update = (MAX_PARAMS / (1 + 2 * hashed.len())).clamp(1, HASH_ROWS);
        let mut changed = 0;
        for chunk in rows.chunks(per_update) {
            let mut binds = Binds::new(self.dialect);
            let mut sets = Vec::new();
            for (i, col) in hashed.iter().enumerate() {
                let whens: Vec<String> = chunk
                    .iter()
                    .filter_map(|(key, news)| {
                        let new = news.get(i)?.as_ref()?;
                        Some(format!(
                            "WHEN {} THEN {}",
                            binds.push(key.clone()),
                            binds.push(Bind::Text(new.clone()))
                        ))
                    })
                    .collect();
                if !whens.is_empty() {
                    sets.push(format!(
                        "{c} = CASE {} {} ELSE {c} END",
                        self.q(&t.key),
                        whens.join(" "),
                        c = self.q(col)
                    ));
                }
            }
            let keys: Vec<Bind> = chunk.iter().map(|(k, _)| k.clone()).collect();
            let sql = format!(
                "UPDATE {} SET {} WHERE {} IN ({})",
                self.q(&t.name),
                sets.join(", "),
                self.q(&t.key),
                binds.list(&keys)
            );
            changed += c
                .run(&sql, &binds.values)
                .map_err(self.query_err(&t.name))? as u64;
        }
        Ok(changed)
    }

    /// Sets the new values of the rectified fields (Art. 16) wherever this store holds them, in
    /// one transaction. `values` are keyed by field id and travel only as bound parameters.
    pub fn rectify(
        &self,
        found: &Found,
        plan: &Plan,
        values: &BTreeMap<FieldId, String>,
    ) -> Result<Applied, ConnectorError> {
        let mut conn = self.conn()?;
        self.transaction(&mut conn, |c| {
            let mut applied = Applied::default();
            for t in &self.map.tables {
                let Some(hit) = found.hit(&t.name) else {
                    continue;
                };
                let mut sets: Vec<(&str, Bind)> = Vec::new();
                for col in &t.columns {
                    let Some((purpose, cat, field)) = &col.field else {
                        continue;
                    };
                    let Some(Action::Rectify { fields }) =
                        plan.action(purpose.as_ref(), cat.as_ref())
                    else {
                        continue;
                    };
                    let (true, Some(v)) = (fields.contains(field), values.get(field)) else {
                        continue;
                    };
                    let Some(b) = text_to_bind(v, self.col_type(&t.name, &col.name)) else {
                        return Err(ConnectorError::Invalid {
                            store: self.map.name.clone(),
                            message: format!(
                                "table `{}`: column `{}` cannot hold the new value of `{field}`",
                                t.name, col.name
                            ),
                        });
                    };
                    sets.push((col.name.as_str(), b));
                }
                if sets.is_empty() {
                    continue;
                }
                let mut n = 0;
                for part in self.disjoint(c, t, &hit.predicate)? {
                    let mut binds = Binds::new(self.dialect);
                    let assignments: Vec<String> = sets
                        .iter()
                        .map(|(col, b)| format!("{} = {}", self.q(col), binds.push(b.clone())))
                        .collect();
                    let sql = format!(
                        "UPDATE {} SET {} WHERE {}",
                        self.q(&t.name),
                        assignments.join(", "),
                        self.where_sql(&part, &mut binds)
                    );
                    n += c
                        .run(&sql, &binds.values)
                        .map_err(self.query_err(&t.name))? as u64;
                }
                applied.changes.push((t.name.clone(), "rectify", n));
            }
            Ok(applied)
        })
    }

    /// Sets (or clears) the restriction flag `col` of the subject's rows in `t`; how many.
    fn set_restriction(
        &self,
        c: &mut dyn Exec,
        t: &TableMap,
        hit: &TableHit,
        col: &str,
        on: bool,
    ) -> Result<u64, ConnectorError> {
        let mut n = 0;
        for part in self.disjoint(c, t, &hit.predicate)? {
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "UPDATE {} SET {} = {} WHERE {}",
                self.q(&t.name),
                self.q(col),
                if on {
                    self.dialect.true_literal()
                } else {
                    self.dialect.false_literal()
                },
                self.where_sql(&part, &mut binds)
            );
            n += c
                .run(&sql, &binds.values)
                .map_err(self.query_err(&t.name))? as u64;
        }
        Ok(n)
    }

    /// Lifts the restriction (Art. 18(3)) of the found rows in every table with a restriction
    /// column, in one transaction. The subject must have been told first (the engine does it).
    pub fn lift_restriction(&self, found: &Found) -> Result<Applied, ConnectorError> {
        let mut conn = self.conn()?;
        self.transaction(&mut conn, |c| {
            let mut applied = Applied::default();
            for t in &self.map.tables {
                let (Some(hit), Some(col)) = (found.hit(&t.name), &t.restrict) else {
                    continue;
                };
                let n = self.set_restriction(c, t, hit, col, false)?;
                applied
                    .changes
                    .push((t.name.clone(), "lift_restriction", n));
            }
            Ok(applied)
        })
    }

    /// Marks restricted rows (Art. 18) in tables that have a restriction column; lists the others
    /// so that the engine records the restriction itself.
    pub fn restrict(&self, found: &Found, plan: &Plan) -> Result<Applied, ConnectorError> {
        let mut conn = self.conn()?;
        self.transaction(&mut conn, |c| {
            let mut applied = Applied::default();
            for t in &self.map.tables {
                let Some(hit) = found.hit(&t.name) else {
                    continue;
                };
                let restricted = t.categories().iter().any(|cat| {
                    matches!(
                        plan.action(t.purpose.as_ref(), cat.as_ref()),
                        Some(Action::Restrict { .. })
                    )
                });
                if !restricted {
                    continue;
                }
                let Some(col) = &t.restrict else {
                    applied.unrecorded_restrictions.push(t.name.clone());
                    continue;
                };
                let n = self.set_restriction(c, t, hit, col, true)?;
                applied.changes.push((t.name.clone(), "restrict", n));
            }
            Ok(applied)
        })
    }
}
