//! One site store: open and check it, find a subject's records, export them, and carry out plans.

use crate::schema::{self, ColType, LiveSchema};
use crate::sql::{Bind, Binds, DbError, Dialect, Exec, Manager};
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

    /// Runs `f` in one transaction on `conn`; begin/commit failures name the store.
    fn transaction<T>(
        &self,
        conn: &mut PooledConnection<Manager>,
        f: impl FnOnce(&mut dyn Exec) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        conn.transaction(|c| f(c).map_err(TxError::Op))
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
                let mut binds = Binds::new(self.dialect);
                let sql = format!(
                    "SELECT {} AS doc FROM {} WHERE {}",
                    self.dialect.json_object(&pairs),
                    self.q(&t.name),
                    self.where_sql(&pred, &mut binds)
                );
                for doc in c
                    .docs(&sql, &binds.values)
                    .map_err(self.query_err(&t.name))?
                {
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
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "SELECT {} AS doc FROM {} WHERE {}",
                self.dialect.json_object(&pairs),
                self.q(&t.name),
                self.where_sql(&pred, &mut binds)
            );
            let docs = c
                .docs(&sql, &binds.values)
                .map_err(self.query_err(&t.name))?;
            let Some(Ok(Value::Object(agg))) =
                docs.first().map(|d| serde_json::from_str::<Value>(d))
            else {
                continue;
            };
            let rows = json_u64(agg.get("n"));
            if rows == 0 {
                continue;
            }
            let mut ev = BTreeMap::new();
            let mut open = 0;
            for (col, e) in &events {
                if let Some(d) = json_date(agg.get(&format!("e_{col}"))) {
                    let slot = ev.entry(*e).or_insert(d);
                    if d > *slot {
                        *slot = d;
                    }
                }
                open += json_u64(agg.get(&format!("o_{col}")));
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
            let mut after: Option<Bind> = None;
            loop {
                let mut binds = Binds::new(self.dialect);
                let mut sql = format!(
                    "SELECT {} AS doc FROM {} WHERE {}",
                    self.dialect.json_object(&pairs),
                    self.q(&t.name),
                    self.where_sql(&hit.predicate, &mut binds)
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
                    let mut binds = Binds::new(self.dialect);
                    let sql = format!(
                        "DELETE FROM {} WHERE {}",
                        self.q(&t.name),
                        self.where_sql(&hit.predicate, &mut binds)
                    );
                    let n = c
                        .run(&sql, &binds.values)
                        .map_err(self.query_err(&t.name))?;
                    applied.changes.push((t.name.clone(), "delete", n as u64));
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
        let mut binds = Binds::new(self.dialect);
        let mut sets = Vec::new();
        let mut hashed = Vec::new();
        for col in &cols {
            match &col.erase {
                Some(ColumnErase::Null) => sets.push(format!("{} = NULL", self.q(&col.name))),
                Some(ColumnErase::Replace(v)) => {
                    let ph = binds.push(
                        text_to_bind(v, self.col_type(&t.name, &col.name))
                            .unwrap_or(Bind::Text(v.clone())),
                    );
                    sets.push(format!("{} = {ph}", self.q(&col.name)));
                }
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
        let mut changed = 0;
        if !sets.is_empty() {
            let sql = format!(
                "UPDATE {} SET {} WHERE {}",
                self.q(&t.name),
                sets.join(", "),
                self.where_sql(&hit.predicate, &mut binds)
            );
            changed = c
                .run(&sql, &binds.values)
                .map_err(self.query_err(&t.name))? as u64;
        }
        if !hashed.is_empty() {
            // A keyed hash is computed here, row by row; only rows still holding a clear value change.
            let mut pairs = vec![("k".to_owned(), self.q(&t.key))];
            pairs.extend(hashed.iter().map(|col| (format!("h_{col}"), self.q(col))));
            let mut binds = Binds::new(self.dialect);
            let sql = format!(
                "SELECT {} AS doc FROM {} WHERE {}",
                self.dialect.json_object(&pairs),
                self.q(&t.name),
                self.where_sql(&hit.predicate, &mut binds)
            );
            let key_ty = self.col_type(&t.name, &t.key);
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
                let mut binds = Binds::new(self.dialect);
                let mut sets = Vec::new();
                for col in &hashed {
                    let Some(Value::String(old)) = row.get(&format!("h_{col}")) else {
                        continue;
                    };
                    let new = crate::hash::keyed(&self.hash_key, old, None);
                    if &new != old {
                        sets.push(format!("{} = {}", self.q(col), binds.push(Bind::Text(new))));
                    }
                }
                if sets.is_empty() {
                    continue;
                }
                let sql = format!(
                    "UPDATE {} SET {} WHERE {} = {}",
                    self.q(&t.name),
                    sets.join(", "),
                    self.q(&t.key),
                    binds.push(key)
                );
                changed = changed.max(
                    c.run(&sql, &binds.values)
                        .map_err(self.query_err(&t.name))? as u64,
                );
            }
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
                let mut binds = Binds::new(self.dialect);
                let mut sets = Vec::new();
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
                    sets.push(format!("{} = {}", self.q(&col.name), binds.push(b)));
                }
                if sets.is_empty() {
                    continue;
                }
                let sql = format!(
                    "UPDATE {} SET {} WHERE {}",
                    self.q(&t.name),
                    sets.join(", "),
                    self.where_sql(&hit.predicate, &mut binds)
                );
                let n = c
                    .run(&sql, &binds.values)
                    .map_err(self.query_err(&t.name))?;
                applied.changes.push((t.name.clone(), "rectify", n as u64));
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
            self.where_sql(&hit.predicate, &mut binds)
        );
        Ok(c.run(&sql, &binds.values)
            .map_err(self.query_err(&t.name))? as u64)
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
