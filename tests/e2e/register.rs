//! The register and health endpoints, in process.

use actix_web::test as atest;
use rightful_tests::TestApp;

#[actix_web::test]
async fn health_reports_the_database_and_the_policy() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    let res: serde_json::Value =
        atest::call_and_read_body_json(&svc, atest::TestRequest::get().uri("/health").to_request())
            .await;
    assert_eq!(res["status"], "ok");
    assert_eq!(res["purposes"], 9);
}

#[actix_web::test]
async fn the_register_is_served_in_every_format() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    for (format, media) in [
        ("csv", "text/csv; charset=utf-8"),
        ("json", "application/json"),
        ("jsonld", "application/ld+json"),
    ] {
        let res = atest::call_service(
            &svc,
            atest::TestRequest::get()
                .uri(&format!("/v1/register?format={format}"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200, "{format}");
        assert_eq!(res.headers().get("content-type").unwrap(), media);
        let body = atest::read_body(res).await;
        assert!(!body.is_empty());
    }
    let csv = atest::call_and_read_body(
        &svc,
        atest::TestRequest::get().uri("/v1/register").to_request(),
    )
    .await;
    let mut reader = csv::Reader::from_reader(csv.as_ref());
    assert_eq!(reader.records().count(), 9, "csv is the default format");
}

#[actix_web::test]
async fn bad_input_gets_a_json_error_from_the_code_table() {
    let app = TestApp::new(false).unwrap();
    let svc = service!(app);
    for (uri, status, code) in [
        ("/v1/register?format=ods", 400, "bad_request"),
        ("/v1/register?format=csv&extra=1", 400, "bad_request"),
        ("/v1/register/../../etc/passwd", 404, "not_found"),
        ("/v1/nothing", 404, "not_found"),
    ] {
        let res = atest::call_service(&svc, atest::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), status, "{uri}");
        let body: serde_json::Value = atest::read_body_json(res).await;
        assert_eq!(body["error"], code, "{uri}");
        assert!(body["message"].is_string(), "{uri}");
    }
}

#[actix_web::test]
async fn the_engine_records_the_policy_version_in_force_once() {
    let app = TestApp::new(true).unwrap();
    let entries = app
        .engine
        .store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].content.action, "policy.loaded");
    // Opening again with the same policy records nothing new (E4: versions, not restarts).
    let again = rightful_engine::Engine::open((*app.engine.settings).clone()).unwrap();
    let count = again
        .store
        .with_conn(|c| rightful_store::models::audit::between(c, None, None))
        .unwrap()
        .len();
    assert_eq!(count, 1);
    assert!(
        again
            .store
            .with_conn(rightful_store::models::audit::verify)
            .unwrap()
            .ok()
    );
}
