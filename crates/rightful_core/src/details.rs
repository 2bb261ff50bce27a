//! What a request of each type must say beyond the subject's identity, checked at intake so that
//! a request that cannot be carried out is refused with a clear message before anything is stored:
//! new values for a rectification (C1), grounds for an objection (C7; marketing objections need
//! none), and the action of a post-mortem request (LIL art. 85, checklist D2, D6).
//!
//! Messages name fields and purposes (configuration), never the values given (personal data).

use crate::Policy;
use crate::intake::RequestType;
use serde_json::{Map, Value};

/// Longest value accepted for one field or text.
pub const MAX_VALUE_CHARS: usize = 2000;
/// Most fields one rectification may change.
pub const MAX_FIELDS: usize = 50;

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("`{what}` must be an object"))
}

fn text<'a>(m: &'a Map<String, Value>, key: &str, ctx: &str) -> Result<Option<&'a str>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > MAX_VALUE_CHARS => Err(format!(
            "`{ctx}{key}` is longer than {MAX_VALUE_CHARS} characters"
        )),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("`{ctx}{key}` must be text")),
    }
}

fn required<'a>(m: &'a Map<String, Value>, key: &str, ctx: &str) -> Result<&'a str, String> {
    text(m, key, ctx)?.ok_or_else(|| format!("`{ctx}{key}` is required"))
}

/// The field ids the policy declares, in any category of any purpose.
fn declared_field(policy: &Policy, id: &str) -> bool {
    policy
        .purposes
        .iter()
        .flat_map(|p| &p.categories)
        .flat_map(|c| &c.fields)
        .any(|f| f.id.as_ref() == id)
}

fn purposes_named(policy: &Policy, m: &Map<String, Value>) -> Result<Vec<String>, String> {
    let Some(v) = m.get("purposes") else {
        return Ok(Vec::new());
    };
    let list = v
        .as_array()
        .ok_or("`details.purposes` must be a list of purpose ids")?;
    let mut out = Vec::new();
    for p in list {
        let id = p
            .as_str()
            .ok_or("`details.purposes` must be a list of purpose ids")?;
        if policy.purpose(id).is_none() {
            let known: Vec<&str> = policy.purposes.iter().map(|p| p.id.as_ref()).collect();
            return Err(format!(
                "`{id}` is not one of our purposes: {}",
                known.join(", ")
            ));
        }
        out.push(id.to_owned());
    }
    Ok(out)
}

/// The post-mortem action a request names, if any.
pub fn post_mortem_action(details: &Value) -> Option<&str> {
    details.get("action").and_then(Value::as_str)
}

/// Checks the details of a request of type `kind`.
pub fn check(policy: &Policy, kind: RequestType, details: &Value) -> Result<(), String> {
    let empty = Map::new();
    let m = match details {
        Value::Null => &empty,
        v => obj(v, "details")?,
    };
    match kind {
        RequestType::Rectification => rectification(policy, m),
        RequestType::Objection => objection(policy, m),
        RequestType::PostMortem => post_mortem(policy, m),
        RequestType::Portability => {
            purposes_named(policy, m)?;
            match text(m, "transmit_to", "details.")? {
                Some(url) if !url.starts_with("https://") || url.len() > 500 || url.contains(char::is_whitespace) => Err(
                    "`details.transmit_to` is the https:// address of the controller to receive your data (Art. 20(2))".into(),
                ),
                _ => Ok(()),
            }
        }
        RequestType::Access
        | RequestType::Erasure
        | RequestType::Restriction
        | RequestType::WithdrawConsent => purposes_named(policy, m).map(|_| ()),
        RequestType::Unclassified => Ok(()),
    }
}

/// C1: the new values, by declared field, or a supplementary statement completing the data.
fn rectification(policy: &Policy, m: &Map<String, Value>) -> Result<(), String> {
    let statement = text(m, "statement", "details.")?;
    let values = match m.get("new_values") {
        None | Some(Value::Null) => None,
        Some(v) => Some(obj(v, "details.new_values")?),
    };
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return if statement.is_some() {
            Ok(())
        } else {
            Err("a rectification gives the new values (`details.new_values`: {field: value}) or a supplementary statement (`details.statement`) (Art. 16)".into())
        };
    };
    if values.len() > MAX_FIELDS {
        return Err(format!(
            "a rectification changes at most {MAX_FIELDS} fields"
        ));
    }
    for key in values.keys() {
        if !declared_field(policy, key) {
            return Err(format!(
                "`{key}` is not a field we hold: name fields as our privacy policy lists them"
            ));
        }
        text(values, key, "details.new_values.")?
            .ok_or_else(|| format!("`details.new_values.{key}` is empty"))?;
    }
    Ok(())
}

/// C7: grounds relating to the subject's situation (Art. 21(1)); none needed for marketing
/// (Art. 21(2)).
///
/// `withdraw: true` takes back an earlier objection to direct marketing (the subject opts in
/// again): it names marketing purposes only.
fn objection(policy: &Policy, m: &Map<String, Value>) -> Result<(), String> {
    let purposes = purposes_named(policy, m)?;
    let all_marketing = !purposes.is_empty()
        && purposes
            .iter()
            .all(|p| policy.purpose(p).is_some_and(|p| p.marketing));
    match m.get("withdraw") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) if all_marketing => return Ok(()),
        Some(Value::Bool(true)) => {
            return Err("taking back an objection (`details.withdraw`) names the marketing purposes it covered (`details.purposes`)".into());
        }
        Some(_) => return Err("`details.withdraw` is true or false".into()),
    }
    if text(m, "grounds", "details.")?.is_some() || all_marketing {
        return Ok(());
    }
    Err("an objection states grounds relating to your particular situation (`details.grounds`, Art. 21(1)); an objection to direct marketing needs none: name the marketing purposes (`details.purposes`, Art. 21(2))".into())
}

const INSTRUCTIONS: [&str; 3] = ["erase", "keep", "communicate"];

/// LIL art. 85: register, update or revoke specific directives (D2), or a notice of death (D6).
fn post_mortem(policy: &Policy, m: &Map<String, Value>) -> Result<(), String> {
    let action = required(m, "action", "details.")?;
    match action {
        "register" | "update" => {
            if m.get("specific_consent") != Some(&Value::Bool(true)) {
                return Err("directives need your specific consent, given apart from any terms of use: set `details.specific_consent` to true (LIL art. 85; checklist D2)".into());
            }
            let list = m
                .get("directives")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or("`details.directives` lists at least one directive: {scope: \"all\" or a purpose id, instruction: erase | keep | communicate, recipient for communicate}")?;
            for (i, d) in list.iter().enumerate() {
                let ctx = format!("details.directives[{i}].");
                let d = obj(d, &ctx)?;
                let scope = required(d, "scope", &ctx)?;
                if scope != "all" && policy.purpose(scope).is_none() {
                    return Err(format!("`{ctx}scope` is `all` or one of our purposes"));
                }
                let instruction = required(d, "instruction", &ctx)?;
                if !INSTRUCTIONS.contains(&instruction) {
                    return Err(format!("`{ctx}instruction` is erase, keep or communicate"));
                }
                if instruction == "communicate" {
                    let r = obj(
                        d.get("recipient").unwrap_or(&Value::Null),
                        &format!("{ctx}recipient"),
                    )?;
                    required(r, "name", &format!("{ctx}recipient."))?;
                    required(r, "email", &format!("{ctx}recipient."))?;
                }
            }
            if let Some(e) = m.get("executor").filter(|v| !v.is_null()) {
                let e = obj(e, "details.executor")?;
                required(e, "name", "details.executor.")?;
                required(e, "email", "details.executor.")?;
            }
            Ok(())
        }
        "revoke" => Ok(()),
        "notice_of_death" => {
            let d = obj(
                m.get("deceased").unwrap_or(&Value::Null),
                "details.deceased",
            )?;
            for k in ["last_name", "first_name", "email", "date_of_death"] {
                required(d, k, "details.deceased.")?;
            }
            if let Some(date) = text(d, "date_of_death", "details.deceased.")?
                && date.parse::<chrono::NaiveDate>().is_err()
            {
                return Err("`details.deceased.date_of_death` is a date, YYYY-MM-DD".into());
            }
            match required(m, "requester_role", "details.")? {
                "heir" | "executor" => Ok(()),
                _ => Err("`details.requester_role` is heir or executor".into()),
            }
        }
        _ => Err(
            "`details.action` is register, update, revoke or notice_of_death (LIL art. 85)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bakery() -> Policy {
        crate::policy::tests::bakery()
    }

    #[test]
    fn a_rectification_names_declared_fields_and_never_echoes_values_c1() {
        let p = bakery();
        let field = p.purposes[0].categories[0].fields[0].id.as_ref().to_owned();
        let ok = json!({"new_values": {field.clone(): "New Value"}});
        assert_eq!(check(&p, RequestType::Rectification, &ok), Ok(()));
        assert!(
            check(
                &p,
                RequestType::Rectification,
                &json!({"statement": "my address is incomplete"})
            )
            .is_ok()
        );
        let secret = "secret-value-42";
        for bad in [
            json!({}),
            json!({"new_values": {}}),
            json!({"new_values": {"shoe_size": secret}}),
            json!({"new_values": {field.clone(): ""}}),
            json!({"new_values": {field.clone(): 42}}),
            json!({"new_values": {field.clone(): "x".repeat(MAX_VALUE_CHARS + 1)}}),
            json!({"new_values": [secret]}),
        ] {
            let e = check(&p, RequestType::Rectification, &bad).unwrap_err();
            assert!(!e.contains(secret), "{e}");
        }
    }

    #[test]
    fn an_objection_needs_grounds_unless_it_is_to_marketing_c7() {
        let mut p = bakery();
        p.purposes[1].marketing = true;
        let marketing: Vec<&str> = p
            .purposes
            .iter()
            .filter(|p| p.marketing)
            .map(|p| p.id.as_ref())
            .collect();
        let other: Vec<&str> = p
            .purposes
            .iter()
            .filter(|p| !p.marketing)
            .map(|p| p.id.as_ref())
            .collect();
        assert!(
            !marketing.is_empty() && !other.is_empty(),
            "the fixture has both kinds"
        );
        assert!(check(&p, RequestType::Objection, &json!({"purposes": marketing})).is_ok());
        assert!(
            check(
                &p,
                RequestType::Objection,
                &json!({"purposes": marketing, "withdraw": true})
            )
            .is_ok()
        );
        assert!(
            check(
                &p,
                RequestType::Objection,
                &json!({"purposes": other, "withdraw": true, "grounds": "x"})
            )
            .is_err(),
            "only a marketing objection is taken back this way"
        );
        assert!(check(&p, RequestType::Objection, &json!({"purposes": other})).is_err());
        assert!(check(&p, RequestType::Objection, &json!({})).is_err());
        assert!(
            check(
                &p,
                RequestType::Objection,
                &json!({"purposes": other, "grounds": "I moved abroad"})
            )
            .is_ok()
        );
        let e = check(
            &p,
            RequestType::Objection,
            &json!({"purposes": ["nope"], "grounds": "x"}),
        )
        .unwrap_err();
        assert!(e.contains("`nope` is not one of our purposes"), "{e}");
    }

    #[test]
    fn c6_a_direct_transmission_goes_only_to_an_https_address() {
        let p = bakery();
        let ok = json!({"transmit_to": "https://receiver.example/import"});
        assert!(check(&p, RequestType::Portability, &ok).is_ok());
        for bad in [
            "http://receiver.example/import",
            "file:///etc/passwd",
            "https://a b",
        ] {
            assert!(
                check(&p, RequestType::Portability, &json!({"transmit_to": bad})).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn post_mortem_requests_name_their_action_d2_d6() {
        let p = bakery();
        let pm = |v| check(&p, RequestType::PostMortem, &v);
        assert!(pm(json!({"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "erase"}]})).is_ok());
        assert!(pm(json!({"action": "update", "specific_consent": true, "directives": [{"scope": "all", "instruction": "communicate", "recipient": {"name": "Bo", "email": "bo@example.test"}}], "executor": {"name": "Cy", "email": "cy@example.test"}})).is_ok());
        assert!(pm(json!({"action": "revoke"})).is_ok());
        assert!(pm(json!({"action": "notice_of_death", "requester_role": "heir", "deceased": {"last_name": "L", "first_name": "F", "email": "f@example.test", "date_of_death": "2026-10-01"}})).is_ok());
        for (bad, needle) in [
            (json!({}), "`details.action` is required"),
            (
                json!({"action": "resurrect"}),
                "register, update, revoke or notice_of_death",
            ),
            (
                json!({"action": "register", "directives": [{"scope": "all", "instruction": "erase"}]}),
                "specific consent",
            ),
            (
                json!({"action": "register", "specific_consent": true, "directives": []}),
                "at least one directive",
            ),
            (
                json!({"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "burn"}]}),
                "erase, keep or communicate",
            ),
            (
                json!({"action": "register", "specific_consent": true, "directives": [{"scope": "all", "instruction": "communicate"}]}),
                "recipient",
            ),
            (
                json!({"action": "notice_of_death", "requester_role": "heir", "deceased": {"last_name": "L", "first_name": "F", "email": "f@x.test", "date_of_death": "yesterday"}}),
                "YYYY-MM-DD",
            ),
            (
                json!({"action": "notice_of_death", "requester_role": "friend", "deceased": {"last_name": "L", "first_name": "F", "email": "f@x.test", "date_of_death": "2026-01-01"}}),
                "heir or executor",
            ),
        ] {
            let e = pm(bad).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}
