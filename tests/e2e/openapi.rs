//! Issue 12 item 12: the OpenAPI document tells the truth. Over a real port, every operation of
//! `/openapi.json` is called as an attacker would (no credentials, a wrong token, junk query
//! parameters, a body that is not JSON) and as the DPO; each answer's status must be one the
//! operation documents, with a documented media type and, for an error, the documented error body.
//! The finding: 401 on the staff operations, and 400 on `/v1/auth/token` and `/v1/audit`, were
//! not documented. `make api-check` runs schemathesis for the rest.

use rightful_tests::TestApp;
use serde_json::Value;

/// A staff account and its token, over HTTP.
#[expect(clippy::unwrap_used, reason = "test support fails loudly")]
async fn dpo_token(http: &reqwest::Client, base: &str, app: &TestApp) -> String {
    rightful_engine::auth::add_staff(
        &app.engine,
        "openapi_dpo",
        rightful_engine::auth::Role::Dpo,
        "a long enough password",
    )
    .unwrap();
    let login: Value = http
        .post(format!("{base}/v1/auth/token"))
        .json(&serde_json::json!({"username": "openapi_dpo", "password": "a long enough password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"].as_str().unwrap().to_owned()
}

/// One way of calling an operation.
#[derive(Debug, Clone, Copy)]
enum Probe {
    /// No credentials, an empty JSON object as the body.
    Anonymous,
    /// A token that is not ours.
    WrongToken,
    /// The DPO's token.
    Dpo,
    /// The DPO's token and an unknown query parameter.
    JunkQuery,
    /// The DPO's token and a body that is not JSON (`\0`), sent as JSON.
    NotJson,
}

#[tokio::test]
async fn issue_12_item_12_every_live_answer_is_documented() {
    let app = TestApp::new(false).unwrap();
    let base = app.spawn().unwrap();
    let http = reqwest::Client::new();
    let token = dpo_token(&http, &base, &app).await;
    let doc: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = "0b0e1c39-4f0a-4f7e-9a59-6a4f3c1d2e5f";
    let mut calls = 0;
    let mut statuses = std::collections::BTreeSet::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = template
            .replace("{id}", id)
            .replace("{kind}", "mandate")
            .replace("{agent_id}", "unknown-agent");
        for (method, op) in item.as_object().unwrap() {
            let json_body = !op["requestBody"]["content"]["application/json"].is_null();
            for probe in [
                Probe::Anonymous,
                Probe::WrongToken,
                Probe::Dpo,
                Probe::JunkQuery,
                Probe::NotJson,
            ] {
                let url = match probe {
                    Probe::JunkQuery => format!("{base}{path}?zzz=1"),
                    _ => format!("{base}{path}"),
                };
                let mut req = http.request(method.to_uppercase().parse().unwrap(), url);
                req = match probe {
                    Probe::Anonymous => req,
                    Probe::WrongToken => req.header("Authorization", "Bearer not-a-token"),
                    Probe::Dpo | Probe::JunkQuery | Probe::NotJson => {
                        req.header("Authorization", format!("Bearer {token}"))
                    }
                };
                req = match (probe, json_body) {
                    (Probe::NotJson, _) => req
                        .header("Content-Type", "application/json")
                        .body(vec![0u8]),
                    (_, true) => req.json(&serde_json::json!({})),
                    (_, false) => req,
                };
                let res = req.send().await.unwrap();
                let status = res.status().as_u16().to_string();
                let media = res
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
                let body = res.bytes().await.unwrap();
                let label = format!("{} {template} ({probe:?})", method.to_uppercase());
                let documented = &op["responses"][&status];
                assert!(
                    documented.is_object(),
                    "{label} answered {status}, which it does not document"
                );
                calls += 1;
                statuses.insert(status.clone());
                match documented["content"].as_object() {
                    None => assert!(body.is_empty(), "{label} {status}: an undocumented body"),
                    Some(content) => {
                        let media = media.unwrap_or_default();
                        assert!(
                            content.contains_key(&media),
                            "{label} {status}: `{media}` is not documented"
                        );
                        let schema = content[&media]["schema"]["$ref"].as_str().unwrap_or("");
                        if schema.ends_with("/ReadyBody") {
                            // Issue 13 item 7: readiness answers 503 with the same body as 200,
                            // saying which store is down.
                            let ready: Value = serde_json::from_slice(&body).unwrap();
                            assert!(
                                ready["status"].is_string() && ready["stores"].is_array(),
                                "{label} {status}: {ready} is not a ReadyBody"
                            );
                        } else if !status.starts_with('2') {
                            let err: Value = serde_json::from_slice(&body).unwrap();
                            let drp = err["code"].is_string() && err["fatal"].is_boolean();
                            let api = err["error"].is_string();
                            let fits = if schema.ends_with("/DrpErrorBody") {
                                drp
                            } else if schema.ends_with("/AnyErrorBody") {
                                drp || api
                            } else {
                                api
                            };
                            assert!(
                                fits && err["message"].is_string(),
                                "{label} {status}: {err} is not a {schema}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(calls >= 27 * 5, "{calls} calls");
    // The finding's own cases were among them.
    for s in ["400", "401", "404"] {
        assert!(statuses.contains(s), "no {s} seen");
    }
}
