//! Every route, in one place.

use crate::auth::Public;
use crate::error::ApiError;
use crate::handlers::{audit, auth, drp, health, holds, jwks, register, requests, suppressions};
use actix_web::dev::{Service, ServiceRequest};
use actix_web::{HttpRequest, web};
use rightful_engine::Engine;
use std::time::Instant;
use utoipa_swagger_ui::SwaggerUi;

/// Registers every route and the JSON error handlers for `App::configure`.
pub fn configure(engine: web::Data<Engine>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = engine.settings.server.body_limit_kib * 1024;
        cfg.app_data(engine)
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
            )
            .service(
                web::scope("")
                    .wrap_fn(log_request)
                    .route("/health", web::get().to(health::get_health))
                    .route("/v1/register", web::get().to(register::get::get_register))
                    .route("/v1/auth/token", web::post().to(auth::token::post_token))
                    .route("/v1/audit", web::get().to(audit::get::get_audit))
                    .route("/v1/audit/verify", web::get().to(audit::verify::get_verify))
                    .route("/v1/requests", web::get().to(requests::list::list_requests))
                    .route(
                        "/v1/requests",
                        web::post().to(requests::submit::submit_request),
                    )
                    .route(
                        "/v1/requests/{id}",
                        web::get().to(requests::get::get_request),
                    )
                    .route(
                        "/v1/requests/{id}/status",
                        web::get().to(requests::status::get_status),
                    )
                    .route(
                        "/v1/requests/{id}/decision",
                        web::post().to(requests::decide::post_decision),
                    )
                    .route(
                        "/v1/requests/{id}/verify",
                        web::post().to(requests::verify::post_verify),
                    )
                    .route(
                        "/v1/requests/{id}/documents/{kind}",
                        web::put().to(requests::documents::put_document),
                    )
                    .route(
                        "/v1/requests/{id}/documents/{kind}",
                        web::get().to(requests::documents::get_document),
                    )
                    .route(
                        "/v1/requests/{id}/documents/{kind}/check",
                        web::post().to(requests::documents::post_check),
                    )
                    .route(
                        "/v1/requests/{id}/result",
                        web::get().to(requests::result::get_result),
                    )
                    .route(
                        "/v1/requests/{id}/directives",
                        web::get().to(requests::directives::get_directives),
                    )
                    .route("/v1/agent/{agent_id}", web::post().to(drp::post_agent))
                    .route("/v1/agent/{agent_id}", web::get().to(drp::get_agent))
                    .route("/v1/data-rights-request", web::post().to(drp::post_request))
                    .route(
                        "/v1/data-rights-request/{id}",
                        web::get().to(drp::get_request),
                    )
                    .route(
                        "/v1/data-rights-request/{id}",
                        web::delete().to(drp::delete_request),
                    )
                    .route(
                        "/v1/data-rights-request/{id}/result",
                        web::get().to(drp::get_result),
                    )
                    .route("/v1/holds", web::get().to(holds::list_holds))
                    .route("/v1/holds", web::post().to(holds::post_hold))
                    .route("/v1/holds/{id}", web::delete().to(holds::delete_hold))
                    .route(
                        "/v1/suppressions/check",
                        web::post().to(suppressions::post_check),
                    )
                    .route("/.well-known/jwks.json", web::get().to(jwks::get_jwks))
                    .route("/openapi.json", web::get().to(openapi_json))
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
