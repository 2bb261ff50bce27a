//! End-to-end tests: in-process through actix's test service, plus a smoke test over a real port.

use actix_web::test as atest;

/// An in-process service over the test app's engine, with every route.
macro_rules! service {
    ($app:expr) => {
        actix_web::test::init_service(actix_web::App::new().configure(
            rightful_api::routes::configure(actix_web::web::Data::new($app.engine.clone())),
        ))
        .await
    };
}

/// Calls the service; returns the status and the JSON body (`null` when there is none).
async fn call<S>(svc: &S, req: atest::TestRequest) -> (u16, serde_json::Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let res = atest::call_service(svc, req.to_request()).await;
    let status = res.status().as_u16();
    let body = atest::read_body(res).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

mod audit;
mod documents;
mod drp;
mod execution;
mod http;
mod identity;
mod notices;
mod openapi;
mod ops;
mod own_copies;
mod register;
mod requests;
mod retention;
mod security;
mod side_effects;
mod staff;
mod store_errors;
mod workers;
