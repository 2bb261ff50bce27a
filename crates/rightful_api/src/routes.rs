//! Every route, in one place.

use crate::auth::Public;
use crate::error::ApiError;
use crate::handlers::{audit, auth, drp, health, holds, jwks, register, requests, suppressions};
use actix_web::dev::{Service, ServiceRequest};
use actix_web::{HttpRequest, web};
use rightful_engine::Engine;
use std::time::Instant;
use utoipa_swagger_ui::SwaggerUi;

/// A resource whose other methods answer 405 with our JSON error (issue 12 item 11).
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers every route and the JSON error handlers for `App::configure`.
pub fn configure(engine: web::Data<Engine>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = engine.settings.server.body_limit_kib * 1024;
        cfg.app_data(engine)
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(move |e, _| json_error(&e, limit).into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|_, _| {
                ApiError::BadRequest(
                    "the query string is not valid: see /openapi.json for its parameters".into(),
                )
                .into()
            }))
            .service(
                web::scope("")
                    .wrap(actix_web::middleware::from_fn(staff_session))
                    .wrap_fn(log_request)
                    .wrap_fn(hygiene)
                    .service(resource("/health").get(health::get_health))
                    .service(resource("/health/live").get(health::get_live))
                    .service(resource("/health/ready").get(health::get_ready))
                    .service(resource("/metrics").get(health::get_metrics))
                    .service(resource("/v1/register").get(register::get::get_register))
                    .service(resource("/v1/auth/token").post(auth::token::post_token))
                    .service(resource("/v1/audit").get(audit::get::get_audit))
                    .service(resource("/v1/audit/verify").get(audit::verify::get_verify))
                    .service(resource("/v1/audit/anchors").get(audit::anchors::get_anchors))
                    .service(
                        resource("/v1/requests")
                            .get(requests::list::list_requests)
                            .post(requests::submit::submit_request),
                    )
                    .service(resource("/v1/requests/{id}").get(requests::get::get_request))
                    .service(resource("/v1/requests/{id}/status").get(requests::status::get_status))
                    .service(
                        resource("/v1/requests/{id}/decision")
                            .post(requests::decide::post_decision),
                    )
                    .service(
                        resource("/v1/requests/{id}/verify").post(requests::verify::post_verify),
                    )
                    .service(
                        resource("/v1/requests/{id}/documents/{kind}")
                            .put(requests::documents::put_document)
                            .get(requests::documents::get_document),
                    )
                    .service(
                        resource("/v1/requests/{id}/documents/{kind}/check")
                            .post(requests::documents::post_check),
                    )
                    .service(resource("/v1/requests/{id}/result").get(requests::result::get_result))
                    .service(
                        resource("/v1/requests/{id}/directives")
                            .get(requests::directives::get_directives),
                    )
                    .service(
                        resource("/v1/agent/{agent_id}")
                            .post(drp::post_agent)
                            .get(drp::get_agent),
                    )
                    .service(resource("/v1/data-rights-request").post(drp::post_request))
                    .service(
                        resource("/v1/data-rights-request/{id}")
                            .get(drp::get_request)
                            .delete(drp::delete_request),
                    )
                    .service(resource("/v1/data-rights-request/{id}/result").get(drp::get_result))
                    .service(
                        resource("/v1/holds")
                            .get(holds::list_holds)
                            .post(holds::post_hold),
                    )
                    .service(resource("/v1/holds/{id}").delete(holds::delete_hold))
                    .service(resource("/v1/suppressions/check").post(suppressions::post_check))
                    .service(resource("/.well-known/jwks.json").get(jwks::get_jwks))
                    .service(resource("/openapi.json").get(openapi_json))
                    // Public: the API's description, no data. Swagger UI's files are in the
                    // binary (`vendored`).
                    .service(
                        SwaggerUi::new("/docs/{_:.*}")
                            .config(utoipa_swagger_ui::Config::from("/openapi.json")),
                    )
                    .default_service(web::to(not_found)),
            );
    }
}

/// A JSON body refused: the media type (415), the size (413, also when only `Content-Length`
/// announces it), or its content — described by position and kind, never by the values it holds
/// (issue 12 item 11).
fn json_error(e: &actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as J;
    match e {
        J::ContentType => ApiError::UnsupportedMediaType,
        J::Overflow { .. } | J::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge(limit / 1024)
        }
        J::Deserialize(d) => ApiError::BadRequest(describe_json_error(d)),
        _ => ApiError::BadRequest("the body could not be read".into()),
    }
}

/// Where and how a JSON body is wrong, without quoting it.
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax | Category::Eof => "is not valid JSON",
        Category::Data => "has a missing, unknown or mistyped field",
        Category::Io => "could not be read",
    };
    format!(
        "the body {what} (line {}, column {}): see /openapi.json for its schema",
        e.line(),
        e.column()
    )
}

/// Whether the request's `Content-Type` is JSON (`application/json` or `…+json`).
pub(crate) fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

/// Headers every answer carries (issue 12 item 11): no MIME sniffing, no framing, no referrer;
/// and nothing cached, except the API's public description and Swagger UI's files.
fn hygiene<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<S::Response, S::Error>> + use<S>
where
    S: Service<
            ServiceRequest,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    use actix_web::http::header::{self, HeaderValue};
    let cacheable = req.path().starts_with("/docs/") || req.path() == "/openapi.json";
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        let h = res.headers_mut();
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if !cacheable {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(res)
    }
}

/// Authenticates a staff bearer token before any extractor runs, so that a staff route answers
/// 401 before it looks at its query or body (issue 12 item 11), and a disabled or removed
/// account's token stops working at once (item 5). DRP routes carry agents' tokens: skipped.
async fn staff_session(
    req: ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<actix_web::dev::ServiceResponse, actix_web::Error> {
    use actix_web::HttpMessage as _;
    let drp =
        req.path().starts_with("/v1/data-rights-request") || req.path().starts_with("/v1/agent/");
    let token = (!drp).then(|| crate::auth::bearer(req.request())).flatten();
    // The scraper's token is not a staff token: `/metrics` checks it itself (issue 13 item 7).
    let scraper = req.path() == "/metrics"
        && token
            .as_deref()
            .zip(req.app_data::<web::Data<Engine>>())
            .is_some_and(|(t, e)| {
                rightful_engine::metrics::token_matches(&e.settings.metrics.token, t)
            });
    let token = token.filter(|_| !scraper);
    if let (Some(token), Some(engine)) = (token, req.app_data::<web::Data<Engine>>().cloned()) {
        let session = match crate::auth::authenticate(&engine, &token).await {
            Ok(claims) => crate::auth::Session::Valid(claims),
            Err(ApiError::Unauthenticated) => crate::auth::Session::Invalid,
            Err(e) => return Ok(req.error_response(e)),
        };
        req.extensions_mut().insert(session);
    }
    next.call(req).await
}

/// The OpenAPI 3.1 document, built once.
static OPENAPI: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use utoipa::OpenApi as _;
    crate::openapi::ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| "{}".to_owned())
});

async fn openapi_json(_: Public) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI.as_str())
}

async fn not_found(_: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The methods the OpenAPI document lists for each path: a 405 names them in `Allow`, so the
/// answer and the document cannot disagree.
static ALLOWED: std::sync::LazyLock<std::collections::HashMap<String, String>> =
    std::sync::LazyLock::new(|| {
        let doc: serde_json::Value = serde_json::from_str(&OPENAPI).unwrap_or_default();
        doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, ops)| {
                let methods: Vec<String> = ops
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(m, _)| m.to_ascii_uppercase())
                    .filter(|m| ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&m.as_str()))
                    .collect();
                (path.clone(), methods.join(", "))
            })
            .collect()
    });

async fn method_not_allowed(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError as _;
    let mut res = ApiError::MethodNotAllowed.error_response();
    let allow = req
        .match_pattern()
        .and_then(|p| ALLOWED.get(&p).cloned())
        .unwrap_or_default();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allow) {
        res.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    res
}

/// Logs each request by its route pattern (never the raw path or query, which may carry tokens
/// or personal data), with status and duration.
fn log_request<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<S::Response, S::Error>> + use<S>
where
    S: Service<
            ServiceRequest,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let fut = srv.call(req);
    async move {
        let res = fut.await?;
        tracing::info!(
            http.method = %method,
            http.route = %route,
            http.status = res.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(res)
    }
}
