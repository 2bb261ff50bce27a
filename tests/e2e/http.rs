//! Smoke test over a real TCP port with a real HTTP client.

use rightful_tests::TestApp;

#[tokio::test]
async fn the_server_answers_health_and_register_over_tcp() {
    let app = TestApp::new(true).unwrap();
    let base = app.spawn().unwrap();
    let client = reqwest::Client::new();
    let health: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["database"], "ok");
    let res = client
        .get(format!("{base}/v1/register?format=jsonld"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["@context"]["pd"], "https://w3id.org/dpv/pd#");
    let missing = client.get(format!("{base}/missing")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}
