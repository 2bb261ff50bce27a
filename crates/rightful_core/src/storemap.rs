//! Store maps (SPEC §3; STYLE §2 rules 9–10): how each table of a site's data store holds the
//! data categories of the policy, how a subject is identified in it, how its rows hang off their
//! parents, and what erasure does to each row and column.
//!
//! This module parses a map from TOML text and checks it against the [`Policy`]; checking it
//! against the live database (tables and columns exist, every column is classified, NOT NULL
//! columns are never nulled) is the connectors' job.

use crate::policy::{CategoryId, ErasureRule, FieldId, Policy, PurposeId};
use crate::retention::StartEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One problem in a store map: the file, the table (`-` for the store's own keys), the dotted
/// key in it (`columns.email.erase`), the line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    /// The map's file.
    pub file: String,
    /// The table, or `-` for the store's own keys (`kind`, `url`).
    pub table: String,
    /// The dotted key within the table (`purpose`, `columns.email.erase`), or `-`.
    pub field: String,
    /// The line of the key (1-based), when it is in the file.
    pub line: Option<usize>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": store map")?;
        if self.table != "-" {
            write!(f, ": table `{}`", self.table)?;
        }
        match self.field.strip_prefix("columns.") {
            Some(rest) => {
                let (column, key) = rest.split_once('.').unwrap_or((rest, ""));
                write!(f, ": column `{column}`")?;
                if !key.is_empty() {
                    write!(f, ": `{key}`")?;
                }
            }
            None if self.field != "-" => write!(f, ": `{}`", self.field)?,
            None => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in the store maps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MapErrors(pub Vec<MapError>);

impl fmt::Display for MapErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the store maps have {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

/// The database kinds a store can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite file.
    Sqlite,
}

impl StoreKind {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "postgres" | "postgresql" => Self::Postgres,
            "mysql" | "mariadb" => Self::Mysql,
            "sqlite" => Self::Sqlite,
            _ => {
                return Err(format!(
                    "unknown store kind `{s}`: use postgres, mysql, mariadb or sqlite"
                ));
            }
        })
    }
}

/// What erasure does to a row of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableErase {
    /// The row is deleted.
    Delete,
    /// The row stays; its erased columns get their column strategy (other rows point at it).
    Anonymise,
}

/// What erasure does to a column when its row stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnErase {
    /// Set to NULL (only for nullable columns).
    Null,
    /// Set to a fixed value.
    Replace(String),
    /// Replaced by a keyed hash (HMAC-SHA-256 with a secret from the environment) of the old value.
    Hash,
}

/// One column's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMap {
    /// Column name (validated identifier).
    pub name: String,
    /// The policy field it holds: purpose, category, field.
    pub field: Option<(PurposeId, CategoryId, FieldId)>,
    /// The identity kind it holds (`email`, `customer_id`, `ip_address`).
    pub identity: Option<String>,
    /// The retention event whose date it holds.
    pub event: Option<StartEvent>,
    /// Why the column holds no personal data, when it is ignored.
    pub ignore: Option<String>,
    /// What erasure does to it when the row stays.
    pub erase: Option<ColumnErase>,
}

/// How a table's rows hang off a parent table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentLink {
    /// The column holding the parent's key.
    pub column: String,
    /// The parent table.
    pub table: String,
}

/// One mapped table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableMap {
    /// Table name.
    pub name: String,
    /// The purpose its rows serve.
    pub purpose: PurposeId,
    /// Its primary-key column.
    pub key: String,
    /// Its parent, if its rows hang off another table's.
    pub parent: Option<ParentLink>,
    /// Delete or anonymise on erasure.
    pub erase: TableErase,
    /// A boolean column set while processing is restricted (Art. 18), if the site has one.
    pub restrict: Option<String>,
    /// A boolean column set when a row moves to the intermediate archive (restricted access;
    /// checklist F1), required where the policy archives the table's records.
    pub archive: Option<String>,
    /// Every column other than the key and the parent link.
    pub columns: Vec<ColumnMap>,
}

impl TableMap {
    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnMap> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Identity columns: `(column, kind)`.
    pub fn identities(&self) -> impl Iterator<Item = (&str, &str)> {
        self.columns
            .iter()
            .filter_map(|c| c.identity.as_deref().map(|k| (c.name.as_str(), k)))
    }

    /// The categories its columns hold.
    pub fn categories(&self) -> BTreeSet<CategoryId> {
        self.columns
            .iter()
            .filter_map(|c| c.field.as_ref().map(|(_, cat, _)| cat.clone()))
            .collect()
    }
}

/// A validated store map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreMap {
    /// Store name (the file stem).
    pub name: String,
    /// Database kind.
    pub kind: StoreKind,
    /// Connection URL from the file (may be overridden from `url_env`).
    pub url: String,
    /// The environment variable that overrides the URL (secrets stay out of files).
    pub url_env: Option<String>,
    /// Tables, parents before children.
    pub tables: Vec<TableMap>,
}

impl StoreMap {
    /// The table with this name.
    pub fn table(&self, name: &str) -> Option<&TableMap> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The order in which erasure visits tables: children before parents (the reverse of the
    /// stored order, which puts parents first).
    pub fn erasure_order(&self) -> impl Iterator<Item = &TableMap> {
        self.tables.iter().rev()
    }

    /// The children of a table.
    pub fn children<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a TableMap> + 'a {
        self.tables
            .iter()
            .filter(move |t| t.parent.as_ref().is_some_and(|p| p.table == table))
    }
}

/// Whether `s` is a plain SQL identifier: letters, digits and `_`, not starting with a digit,
/// at most 63 characters. Names are still quoted when used; this keeps maps boring.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    url_env: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, RawTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    purpose: String,
    key: String,
    #[serde(default)]
    parent: Option<RawParent>,
    #[serde(default = "delete")]
    erase: String,
    #[serde(default)]
    restrict: Option<String>,
    #[serde(default)]
    archive: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, RawColumn>,
}

fn delete() -> String {
    "delete".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParent {
    column: String,
    table: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawColumn {
    /// `"category"` or `"category.field"`.
    Short(String),
    Full(RawColumnFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumnFull {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    ignore: Option<String>,
    #[serde(default)]
    erase: Option<RawErase>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawErase {
    Word(String),
    Replace { replace: String },
}

/// Parses and checks a store map against the policy; `name` is the store's name, `path` the file
/// shown in errors. Every problem is collected, once: a table skipped for a wrong name or purpose
/// does not also fail the tables that hang off it. Each error carries the line of its key.
pub fn load(
    name: &str,
    path: &str,
    text: &str,
    policy: &Policy,
) -> Result<StoreMap, Vec<MapError>> {
    let raw: RawStore = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let start = e.span().map(|s| s.start);
            return Err(vec![MapError {
                file: path.to_owned(),
                table: "-".into(),
                field: start
                    .and_then(|o| crate::tomlpos::key_at(text, o))
                    .unwrap_or_else(|| "-".into()),
                line: start.map(|o| crate::tomlpos::line_of(text, o)),
                message: e.message().trim().to_owned(),
            }]);
        }
    };
    check(name, path, text, raw, policy)
}

fn check(
    name: &str,
    path: &str,
    text: &str,
    raw: RawStore,
    policy: &Policy,
) -> Result<StoreMap, Vec<MapError>> {
    let mut errs: Vec<MapError> = Vec::new();
    let mut push = |table: &str, field: String, message: String| {
        let mut keys: Vec<&str> = Vec::new();
        if table != "-" {
            keys.extend(["tables", table]);
        }
        if field != "-" {
            keys.extend(field.split('.'));
        }
        errs.push(MapError {
            file: path.to_owned(),
            table: table.to_owned(),
            line: crate::tomlpos::key_line(text, &keys),
            field,
            message,
        });
    };
    let kind = StoreKind::parse(&raw.kind)
        .map_err(|m| push("-", "kind".into(), m))
        .ok();
    if raw.url.is_empty() && raw.url_env.is_none() {
        push(
            "-",
            "url".into(),
            "give the store's `url`, or `url_env` naming the variable that holds it".into(),
        );
    }
    if raw.tables.is_empty() {
        push("-", "tables".into(), "map at least one table".into());
    }
    let mut tables = Vec::new();
    for (tname, t) in &raw.tables {
        if !is_identifier(tname) {
            push(
                tname,
                "-".into(),
                format!("`{tname}` is not a plain table name (letters, digits, _)"),
            );
            continue;
        }
        let Some(purpose) = policy.purpose(&t.purpose) else {
            push(
                tname,
                "purpose".into(),
                format!("purpose `{}` is not declared in the policy", t.purpose),
            );
            continue;
        };
        for (what, col) in [
            ("key", Some(&t.key)),
            ("parent.column", t.parent.as_ref().map(|p| &p.column)),
            ("restrict", t.restrict.as_ref()),
            ("archive", t.archive.as_ref()),
        ] {
            if let Some(c) = col
                && !is_identifier(c)
            {
                push(
                    tname,
                    what.into(),
                    format!("`{c}` is not a plain column name"),
                );
            }
        }
        let erase = match t.erase.as_str() {
            "delete" => TableErase::Delete,
            "anonymise" | "anonymize" => TableErase::Anonymise,
            other => {
                push(
                    tname,
                    "erase".into(),
                    format!("unknown table erasure `{other}`: use delete or anonymise"),
                );
                TableErase::Delete
            }
        };
        let mut columns = Vec::new();
        for (cname, c) in &t.columns {
            let f = format!("columns.{cname}");
            if !is_identifier(cname) {
                push(
                    tname,
                    f.clone(),
                    format!("`{cname}` is not a plain column name"),
                );
                continue;
            }
            let full = match c {
                RawColumn::Short(s) => {
                    let (cat, field) = s.split_once('.').map_or((s.clone(), None), |(a, b)| {
                        (a.to_owned(), Some(b.to_owned()))
                    });
                    RawColumnFull {
                        category: Some(cat),
                        field,
                        identity: None,
                        event: None,
                        ignore: None,
                        erase: None,
                    }
                }
                RawColumn::Full(full) => RawColumnFull {
                    category: full.category.clone(),
                    field: full.field.clone(),
                    identity: full.identity.clone(),
                    event: full.event.clone(),
                    ignore: full.ignore.clone(),
                    erase: match &full.erase {
                        None => None,
                        Some(RawErase::Word(w)) => Some(RawErase::Word(w.clone())),
                        Some(RawErase::Replace { replace }) => Some(RawErase::Replace {
                            replace: replace.clone(),
                        }),
                    },
                },
            };
            let field = match &full.category {
                None => {
                    if full.field.is_some() {
                        push(tname, f.clone(), "`field` needs its `category`".into());
                    }
                    None
                }
                Some(cat) => match purpose.category(cat) {
                    None => {
                        push(
                            tname,
                            f.clone(),
                            format!(
                                "category `{cat}` is not declared by purpose `{}`",
                                purpose.id
                            ),
                        );
                        None
                    }
                    Some(category) => {
                        let field_id = full.field.clone().unwrap_or_else(|| cname.clone());
                        match category.fields.iter().find(|x| x.id.as_ref() == field_id) {
                            Some(x) => {
                                Some((purpose.id.clone(), category.id.clone(), x.id.clone()))
                            }
                            None => {
                                push(
                                    tname,
                                    f.clone(),
                                    format!(
                                        "category `{}.{cat}` has no field `{field_id}`: name it with `field = \"…\"`",
                                        purpose.id
                                    ),
                                );
                                None
                            }
                        }
                    }
                },
            };
            let event = full.event.as_deref().and_then(|e| {
                StartEvent::parse(e)
                    .map_err(|m| push(tname, format!("{f}.event"), m))
                    .ok()
            });
            let ignore = full.ignore.clone();
            if ignore.as_deref().is_some_and(|r| r.trim().is_empty()) {
                push(tname, f.clone(), "`ignore` needs a reason".into());
            }
            if ignore.is_some() && (field.is_some() || full.identity.is_some() || event.is_some()) {
                push(
                    tname,
                    f.clone(),
                    "an ignored column cannot also hold data, an identity or an event".into(),
                );
            }
            if ignore.is_none()
                && full.category.is_none()
                && full.identity.is_none()
                && full.event.is_none()
            {
                push(tname, f.clone(), "classify the column: a `category`, an `identity`, an `event`, or `ignore = \"reason\"`".into());
            }
            if let Some(k) = &full.identity
                && !is_identifier(k)
            {
                push(
                    tname,
                    format!("{f}.identity"),
                    format!("`{k}` is not a plain identity kind"),
                );
            }
            let erase_col = match &full.erase {
                None => None,
                Some(RawErase::Word(w)) if w == "null" => Some(ColumnErase::Null),
                Some(RawErase::Word(w)) if w == "hash" => Some(ColumnErase::Hash),
                Some(RawErase::Replace { replace }) => Some(ColumnErase::Replace(replace.clone())),
                Some(RawErase::Word(w)) => {
                    push(
                        tname,
                        format!("{f}.erase"),
                        format!(
                            "unknown column erasure `{w}`: use \"null\", \"hash\" or {{ replace = \"…\" }}"
                        ),
                    );
                    None
                }
            };
            // An anonymised row keeps its columns unless they say how to erase them.
            if erase == TableErase::Anonymise && field.is_some() && erase_col.is_none() {
                push(tname, format!("{f}.erase"), "the table is anonymised on erasure: say how this column is erased (\"null\", \"hash\" or { replace = \"…\" })".into());
            }
            columns.push(ColumnMap {
                name: cname.clone(),
                field,
                identity: full.identity.clone(),
                event,
                ignore,
                erase: erase_col,
            });
        }
        if t.columns.contains_key(&t.key)
            && columns.iter().any(|c| c.name == t.key && c.erase.is_some())
        {
            push(
                tname,
                format!("columns.{}.erase", t.key),
                "a primary key is never erased: delete the row or anonymise the others".into(),
            );
        }
        // Where the policy moves records to the intermediate archive, the table that holds the
        // date the period runs from needs the flag that marks them.
        if t.archive.is_none() {
            let archiving =
                columns
                    .iter()
                    .filter_map(|c| c.field.as_ref())
                    .find_map(|(_, cat, _)| {
                        let rule = &purpose.category(cat.as_ref())?.retention;
                        rule.archive_after.filter(|_| {
                            columns
                                .iter()
                                .any(|c| c.event == Some(rule.default.event()))
                        })
                    });
            if let Some(after) = archiving {
                push(
                    tname,
                    "archive".into(),
                    format!(
                        "the policy moves `{}` records to the intermediate archive {after} after their event: name the boolean column that marks them (`archive = \"…\"`)",
                        purpose.id
                    ),
                );
            }
        }
        tables.push(TableMap {
            name: tname.clone(),
            purpose: purpose.id.clone(),
            key: t.key.clone(),
            parent: t.parent.as_ref().map(|p| ParentLink {
                column: p.column.clone(),
                table: p.table.clone(),
            }),
            erase,
            restrict: t.restrict.clone(),
            archive: t.archive.clone(),
            columns,
        });
    }
    // Parents must be mapped, and the links must not loop.
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    for t in &tables {
        // A parent skipped above has its own error already.
        if let Some(p) = &t.parent
            && !names.contains(&p.table)
            && !raw.tables.contains_key(&p.table)
        {
            push(
                &t.name,
                "parent.table".into(),
                format!("parent table `{}` is not mapped in this store", p.table),
            );
        }
    }
    let ordered = order_parents_first(&tables).unwrap_or_else(|cycle| {
        push(
            &cycle,
            "parent".into(),
            "the parent links form a cycle".into(),
        );
        Vec::new()
    });
    // A deleted row must never be the parent of a row that stays (FK violations on erasure).
    for t in &ordered {
        if t.erase == TableErase::Delete {
            for child in ordered
                .iter()
                .filter(|c| c.parent.as_ref().is_some_and(|p| p.table == t.name))
            {
                if may_stay(child, policy) {
                    push(
                        &t.name,
                        "erase".into(),
                        format!(
                            "rows of `{}` can stay after an erasure (kept or anonymised), so this parent must be `erase = \"anonymise\"`",
                            child.name
                        ),
                    );
                }
            }
        }
    }
    if errs.is_empty()
        && let Some(kind) = kind
    {
        return Ok(StoreMap {
            name: name.to_owned(),
            kind,
            url: raw.url,
            url_env: raw.url_env,
            tables: ordered,
        });
    }
    Err(errs)
}

/// Whether rows of `t` may survive an erasure: the table is anonymised, or one of its categories
/// is kept by the policy.
fn may_stay(t: &TableMap, policy: &Policy) -> bool {
    t.erase == TableErase::Anonymise
        || t.categories().iter().any(|c| {
            policy
                .purpose(t.purpose.as_ref())
                .and_then(|p| p.category(c.as_ref()))
                .is_some_and(|cat| matches!(cat.erasure, ErasureRule::Keep { .. }))
        })
}

fn order_parents_first(tables: &[TableMap]) -> Result<Vec<TableMap>, String> {
    let mut out: Vec<TableMap> = Vec::new();
    let mut placed = BTreeSet::new();
    let mut pending: Vec<&TableMap> = tables.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|t| {
            let ready = t.parent.as_ref().is_none_or(|p| {
                placed.contains(&p.table) || !tables.iter().any(|x| x.name == p.table)
            });
            if ready {
                placed.insert(t.name.clone());
                out.push((*t).clone());
            }
            !ready
        });
        if pending.len() == before {
            return Err(pending[0].name.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
