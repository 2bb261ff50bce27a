//! Where something is in a TOML file, for error messages that point at the line (issue 13
//! item 5).

use toml::de::{DeTable, DeValue};

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    let end = (0..=end)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    text[..end].matches('\n').count() + 1
}

/// The line of the deepest key of `path` (`["tables", "orders", "columns", "email"]`) found in
/// `text` (the deepest that exists); `None` when the text does not parse or its first key is
/// absent.
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    walk(text, path).map(|(line, _)| line)
}

/// The line of the key at `path`, only when the whole path is in `text`.
pub fn key_line_exact(text: &str, path: &[&str]) -> Option<usize> {
    walk(text, path)
        .filter(|(_, depth)| *depth == path.len())
        .map(|(line, _)| line)
}

/// The line of the deepest key of `path` in `text`, and how many keys of it were found.
fn walk(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut found = None;
    for (depth, segment) in path.iter().enumerate() {
        let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *segment)
        else {
            break;
        };
        found = Some((line_of(text, key.span().start), depth + 1));
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found
}

/// The dotted key whose value holds byte `offset` (the deepest one), e.g. `storage.pool_size`.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    fn find(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
        for (key, value) in table.iter() {
            path.push(key.get_ref().to_string());
            // A `[header]` table's span is its header only: look inside it.
            let inside = match value.get_ref() {
                DeValue::Table(t) => find(t, offset, path),
                _ => false,
            };
            if inside || value.span().contains(&offset) || key.span().contains(&offset) {
                return true;
            }
            path.pop();
        }
        false
    }
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find(doc.get_ref(), offset, &mut path).then(|| path.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_keys_are_found() {
        let text =
            "a = 1\n\n[storage]\npool_size = \"eight\"\n[tables.orders.columns]\nemail = \"x\"\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, text.find("pool_size").unwrap_or(0)), 4);
        assert_eq!(key_line(text, &["storage", "pool_size"]), Some(4));
        assert_eq!(
            key_line(text, &["tables", "orders", "columns", "email"]),
            Some(6)
        );
        assert_eq!(key_line(text, &["tables", "orders", "nope"]), Some(5));
        assert_eq!(key_line(text, &["nope"]), None);
        assert_eq!(key_line_exact(text, &["tables", "orders", "nope"]), None);
        assert_eq!(key_line_exact(text, &["storage", "pool_size"]), Some(4));
        let at = text.find("\"eight\"").unwrap_or(0) + 1;
        assert_eq!(key_at(text, at).as_deref(), Some("storage.pool_size"));
    }
}
