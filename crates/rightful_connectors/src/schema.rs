//! The live schema of a site store, and the checks of a store map against it (STYLE §2 rule 9):
//! every mapped table and column exists, every column of a mapped table is classified or
//! ignored, keys are primary keys, no NOT NULL column is ever set to NULL, replacements fit
//! their column's type; identity, event and link columns without an index are reported.

use crate::sql::{DbError, Dialect, Exec};
use rightful_core::storemap::{ColumnErase, StoreMap};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The broad type of a column, enough to bind values correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Integer types.
    Int,
    /// Character types.
    Text,
    /// Anything else (dates, booleans, numbers).
    Other,
}

impl ColType {
    fn of(data_type: &str) -> Self {
        let t = data_type.to_ascii_lowercase();
        if t.contains("char") || t.contains("text") || t == "clob" {
            Self::Text
        } else if t.contains("int") && !t.contains("interval") && !t.contains("point") {
            Self::Int
        } else {
            Self::Other
        }
    }
}

/// One live column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    /// Broad type.
    pub ty: ColType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// First column of some index.
    pub indexed: bool,
}

/// Tables → columns.
pub type LiveSchema = BTreeMap<String, BTreeMap<String, LiveColumn>>;

#[derive(Deserialize)]
struct Row {
    t: String,
    c: String,
    ty: String,
    nullable: String,
    pk: String,
    idx: String,
}

fn catalogue_sql(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => {
            "SELECT json_build_object('t', c.table_name, 'c', c.column_name, 'ty', c.data_type, 'nullable', c.is_nullable, \
             'pk', CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
                 JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
                 WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema AND tc.table_name = c.table_name \
                 AND k.column_name = c.column_name) THEN 'YES' ELSE 'NO' END, \
             'idx', CASE WHEN EXISTS (SELECT 1 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
                 WHERE n.nspname = c.table_schema AND t.relname = c.table_name AND a.attname = c.column_name) THEN 'YES' ELSE 'NO' END \
             )::text AS doc FROM information_schema.columns c WHERE c.table_schema = current_schema()"
        }
        Dialect::Mysql => {
            "SELECT CAST(JSON_OBJECT('t', c.TABLE_NAME, 'c', c.COLUMN_NAME, 'ty', c.DATA_TYPE, 'nullable', c.IS_NULLABLE, \
             'pk', CASE WHEN c.COLUMN_KEY = 'PRI' THEN 'YES' ELSE 'NO' END, \
             'idx', CASE WHEN EXISTS (SELECT 1 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA \
                 AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.SEQ_IN_INDEX = 1) THEN 'YES' ELSE 'NO' END \
             ) AS CHAR) AS doc FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = DATABASE()"
        }
        Dialect::Sqlite => {
            "SELECT json_object('t', m.name, 'c', p.name, 'ty', lower(p.type), \
             'nullable', CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'NO' ELSE 'YES' END, \
             'pk', CASE WHEN p.pk > 0 THEN 'YES' ELSE 'NO' END, \
             'idx', CASE WHEN p.pk = 1 OR EXISTS (SELECT 1 FROM pragma_index_list(m.name) il, pragma_index_info(il.name) ii \
                 WHERE ii.seqno = 0 AND ii.name = p.name) THEN 'YES' ELSE 'NO' END) AS doc \
             FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
    }
}

/// Reads the live schema.
pub fn read(conn: &mut dyn Exec, dialect: Dialect) -> Result<LiveSchema, DbError> {
    let mut out = LiveSchema::new();
    for doc in conn.docs(catalogue_sql(dialect), &[])? {
        let Ok(r) = serde_json::from_str::<Row>(&doc) else {
            continue;
        };
        out.entry(r.t).or_default().insert(
            r.c,
            LiveColumn {
                ty: ColType::of(&r.ty),
                nullable: r.nullable == "YES",
                primary_key: r.pk == "YES",
                indexed: r.idx == "YES",
            },
        );
    }
    Ok(out)
}

/// Checks the map against the live schema: `(errors, warnings)`.
pub fn check(map: &StoreMap, live: &LiveSchema) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for t in &map.tables {
        let Some(cols) = live.get(&t.name) else {
            errors.push(format!("table `{}` does not exist", t.name));
            continue;
        };
        let mut known: Vec<&str> = vec![t.key.as_str()];
        match cols.get(&t.key) {
            None => errors.push(format!(
                "table `{}`: key column `{}` does not exist",
                t.name, t.key
            )),
            Some(c) if !c.primary_key => errors.push(format!(
                "table `{}`: key column `{}` is not the primary key",
                t.name, t.key
            )),
            Some(_) => {}
        }
        if let Some(p) = &t.parent {
            known.push(&p.column);
            match cols.get(&p.column) {
                None => errors.push(format!(
                    "table `{}`: parent column `{}` does not exist",
                    t.name, p.column
                )),
                Some(c) if !c.indexed => warnings.push(format!(
                    "table `{}`: parent column `{}` has no index",
                    t.name, p.column
                )),
                Some(_) => {}
            }
        }
        for (what, col) in [("restriction", &t.restrict), ("archive", &t.archive)] {
            if let Some(r) = col
                && !cols.contains_key(r)
            {
                errors.push(format!(
                    "table `{}`: {what} column `{r}` does not exist",
                    t.name
                ));
            }
        }
        for c in &t.columns {
            known.push(&c.name);
            let Some(live_col) = cols.get(&c.name) else {
                errors.push(format!(
                    "table `{}`: column `{}` does not exist",
                    t.name, c.name
                ));
                continue;
            };
            if (c.identity.is_some() || c.event.is_some()) && !live_col.indexed {
                warnings.push(format!(
                    "table `{}`: {} column `{}` has no index",
                    t.name,
                    if c.identity.is_some() {
                        "identity"
                    } else {
                        "time"
                    },
                    c.name
                ));
            }
            match &c.erase {
                Some(ColumnErase::Null) if !live_col.nullable => errors.push(format!(
                    "table `{}`: column `{}` is NOT NULL; erase it with a replacement or a hash, or delete the row",
                    t.name, c.name
                )),
                Some(ColumnErase::Replace(v)) if live_col.ty == ColType::Int && v.parse::<i64>().is_err() => {
                    errors.push(format!("table `{}`: column `{}` is an integer; its replacement must be one", t.name, c.name));
                }
                Some(ColumnErase::Hash) if live_col.ty != ColType::Text => {
                    errors.push(format!("table `{}`: column `{}` is not text and cannot hold a hash", t.name, c.name));
                }
                _ => {}
            }
            if live_col.primary_key && c.erase.is_some() {
                errors.push(format!(
                    "table `{}`: column `{}` is in the primary key and is never erased",
                    t.name, c.name
                ));
            }
        }
        for name in cols.keys() {
            if !known.contains(&name.as_str()) {
                errors.push(format!(
                    "table `{}`: column `{name}` is neither classified nor ignored: map it to a data category or write `{name} = {{ ignore = \"reason\" }}`",
                    t.name
                ));
            }
        }
    }
    (errors, warnings)
}
