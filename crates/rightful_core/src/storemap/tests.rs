use super::*;
use crate::policy::tests::bakery;

const SHOP: &str = r#"
kind = "postgres"
url = "postgres://x@localhost/shop"

[tables.clients]
purpose = "sales"
key = "id"
erase = "anonymise"
restrict = "restricted"
[tables.clients.columns]
id = { identity = "client_id" }
email = { category = "order", identity = "email", erase = "hash" }
created_at = { event = "collection" }
restricted = { ignore = "restriction flag" }

[tables.sales]
purpose = "sales"
key = "id"
parent = { column = "client_id", table = "clients" }
[tables.sales.columns]
amount = { category = "invoice", erase = { replace = "0" } }
sold_at = { event = "end_of_contract" }

[tables.cards]
purpose = "loyalty"
key = "id"
[tables.cards.columns]
email = { category = "card", identity = "email" }
born = "card.birthday"
"#;

fn errors(text: &str) -> Vec<String> {
    load("shop", "stores/shop.toml", text, &bakery())
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}|{}|{}", e.table, e.field, e.message))
        .collect()
}

#[test]
fn a_valid_map_loads_with_parents_before_children() {
    let map = load("shop", "stores/shop.toml", SHOP, &bakery()).unwrap();
    assert_eq!(map.kind, StoreKind::Postgres);
    let order: Vec<&str> = map.tables.iter().map(|t| t.name.as_str()).collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("clients") < pos("sales"));
    let erasure: Vec<&str> = map.erasure_order().map(|t| t.name.as_str()).collect();
    assert!(
        erasure.iter().position(|x| *x == "sales") < erasure.iter().position(|x| *x == "clients")
    );
    let cards = map.table("cards").unwrap();
    let born = cards.column("born").unwrap();
    assert_eq!(born.field.as_ref().map(|f| f.2.as_ref()), Some("birthday"));
    assert_eq!(
        map.table("clients")
            .unwrap()
            .identities()
            .collect::<Vec<_>>(),
        [("email", "email"), ("id", "client_id")]
    );
    assert_eq!(
        map.children("clients")
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["sales"]
    );
}

#[test]
fn unknown_purposes_categories_and_fields_are_precise_errors() {
    let text = SHOP
        .replace("purpose = \"loyalty\"", "purpose = \"payroll\"")
        .replace(
            "amount = { category = \"invoice\"",
            "amount = { category = \"receipts\"",
        )
        .replace(
            "email = { category = \"order\", identity = \"email\", erase = \"hash\" }",
            "mail = { category = \"order\", identity = \"email\", erase = \"hash\" }",
        );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|x| x.starts_with("cards|purpose|purpose `payroll` is not declared")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|x| x.starts_with("sales|columns.amount|category `receipts`")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|x| x
                .starts_with("clients|columns.mail|category `sales.order` has no field `mail`")),
        "{e:#?}"
    );
}

#[test]
fn every_column_must_be_classified_and_ignores_need_a_reason() {
    let text = SHOP.replace(
        "restricted = { ignore = \"restriction flag\" }",
        "restricted = { ignore = \" \" }\nnote = {}",
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|x| x.starts_with("clients|columns.restricted|`ignore` needs a reason")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|x| x.starts_with("clients|columns.note|classify the column")),
        "{e:#?}"
    );
}

#[test]
fn a_deleted_parent_of_kept_rows_and_unstated_anonymisation_are_refused() {
    let text = SHOP.replace(
        "erase = \"anonymise\"\nrestrict",
        "erase = \"delete\"\nrestrict",
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|x| x.starts_with("clients|erase|rows of `sales` can stay")),
        "{e:#?}"
    );
    let text = SHOP.replace(
        "email = { category = \"order\", identity = \"email\", erase = \"hash\" }",
        "email = { category = \"order\", identity = \"email\" }",
    );
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|x| x.starts_with("clients|columns.email.erase|the table is anonymised")),
        "{e:#?}"
    );
}

#[test]
fn names_must_be_plain_identifiers_and_links_must_not_loop() {
    let text = SHOP.replace(
        "[tables.cards.columns]\nemail",
        "[tables.cards.columns]\n\"e-mail; DROP\"",
    );
    assert!(
        errors(&text)
            .iter()
            .any(|x| x.contains("is not a plain column name"))
    );
    let looped = SHOP.replace(
        "key = \"id\"\nerase = \"anonymise\"",
        "key = \"id\"\nerase = \"anonymise\"\nparent = { column = \"id\", table = \"sales\" }",
    );
    assert!(
        errors(&looped).iter().any(|x| x.contains("cycle")),
        "{:#?}",
        errors(&looped)
    );
    assert!(
        is_identifier("order_lines")
            && !is_identifier("1x")
            && !is_identifier("a b")
            && !is_identifier("a\"b")
    );
}

#[test]
fn the_store_kind_and_url_are_checked() {
    let e = errors(
        &SHOP
            .replace("kind = \"postgres\"", "kind = \"oracle\"")
            .replace("url = \"postgres://x@localhost/shop\"", ""),
    );
    assert!(
        e.iter().any(|x| x.contains("unknown store kind `oracle`")),
        "{e:#?}"
    );
    assert!(e.iter().any(|x| x.contains("|url|")), "{e:#?}");
}

#[test]
fn f1_a_table_the_policy_archives_needs_its_archive_flag() {
    use crate::policy::tests::{CONTROLLER, SALES};
    use crate::policy::{Policy, Source};
    let sales = SALES.replace(
        "from = \"end_of_contract\"\n",
        "from = \"end_of_contract\"\narchive_after = \"2 years\"\n",
    );
    let policy = Policy::load(
        &Source {
            path: "controller.toml".into(),
            text: CONTROLLER.into(),
        },
        &[Source {
            path: "purposes/sales.toml".into(),
            text: sales,
        }],
    )
    .unwrap();
    let map = r#"
kind = "postgres"
url = "postgres://x@localhost/shop"
[tables.sales]
purpose = "sales"
key = "id"
[tables.sales.columns]
amount = "invoice"
sold_at = { event = "end_of_contract" }
"#;
    let errs: Vec<String> = load("shop", "stores/shop.toml", map, &policy)
        .unwrap_err()
        .into_iter()
        .map(|e| format!("{}|{}", e.field, e.message))
        .collect();
    assert!(
        errs.iter()
            .any(|e| e.starts_with("archive|") && e.contains("2 years")),
        "{errs:?}"
    );
    let flagged = map.replace("key = \"id\"\n", "key = \"id\"\narchive = \"archived\"\n")
        + "archived = { ignore = \"archive flag\" }\n";
    let ok = load("shop", "stores/shop.toml", &flagged, &policy).unwrap();
    assert_eq!(
        ok.table("sales").unwrap().archive.as_deref(),
        Some("archived")
    );
}

// Issue 13 item 5: one mistake gives one error, which names the file, the table, the column
// and the line, and says "store map".
#[test]
fn an_unknown_purpose_gives_one_error_naming_file_table_and_line() {
    let broken = SHOP.replacen("purpose = \"sales\"", "purpose = \"sale\"", 1);
    let errs = load("shop", "stores/shop.toml", &broken, &bakery()).unwrap_err();
    let line = broken
        .lines()
        .position(|l| l == "purpose = \"sale\"")
        .unwrap()
        + 1;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(
        errs[0].to_string(),
        format!(
            "stores/shop.toml:{line}: store map: table `clients`: `purpose`: purpose `sale` is not declared in the policy"
        )
    );
    let broken = SHOP.replace("born = \"card.birthday\"", "born = \"card.birthdate\"");
    let errs = load("shop", "stores/shop.toml", &broken, &bakery()).unwrap_err();
    let line = broken
        .lines()
        .position(|l| l.starts_with("born ="))
        .unwrap()
        + 1;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].to_string().starts_with(&format!(
            "stores/shop.toml:{line}: store map: table `cards`: column `born`: "
        )),
        "{}",
        errs[0]
    );
}
