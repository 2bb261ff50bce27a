//! `GET /health`, `GET /health/live`, `GET /health/ready` and `GET /metrics` (issue 13 item 7).

use crate::auth::Public;
use crate::error::ApiError;
use crate::openapi::{HealthBody, LiveBody, ReadyBody, StoreHealth};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::connection::SimpleConnection;
use rightful_engine::Engine;
use std::time::Duration;

/// How long one store may take to answer the readiness check.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// The server answers and the engine database responds (kept as it was: use `/health/ready` to
/// include the site's stores).
#[utoipa::path(
    get, path = "/health", tag = "public", operation_id = "get_health",
    responses((status = 200, description = "The server answers and the engine database responds", body = HealthBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody))
)]
pub async fn get_health(engine: web::Data<Engine>, _: Public) -> Result<HttpResponse, ApiError> {
    engine
        .store
        .run(|c| Ok(c.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(HealthBody {
        status: "ok".into(),
        database: "ok".into(),
        purposes: engine.policy.purposes.len() as u64,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Liveness: the process answers. No I/O: a database that is down does not make it fail (a
/// restart would not help).
#[utoipa::path(
    get, path = "/health/live", tag = "public", operation_id = "get_health_live",
    responses((status = 200, description = "The process answers", body = LiveBody))
)]
pub async fn get_live(_: Public) -> HttpResponse {
    HttpResponse::Ok().json(LiveBody {
        status: "ok".into(),
    })
}

/// Readiness: the engine database and every site store answer now. Each store's status is `ok`
/// or `unreachable`, with the error's class and code only (never the driver's text, which can
/// quote values or addresses).
#[utoipa::path(
    get, path = "/health/ready", tag = "public", operation_id = "get_health_ready",
    responses(
        (status = 200, description = "The engine database and every store answer", body = ReadyBody),
        (status = 503, description = "The engine database or a store does not answer: the body says which", body = ReadyBody),
    )
)]
pub async fn get_ready(engine: web::Data<Engine>, _: Public) -> HttpResponse {
    // Anyone may ask, and each probe connects to every store: one probe at a time, and its
    // answer reused for `READY_REUSE`, so that callers cannot multiply connections.
    let mut last = engine.readiness.lock().await;
    let (ready, body) = match last.as_ref() {
        Some((at, ready, body)) if at.elapsed() < READY_REUSE => (*ready, body.clone()),
        _ => {
            let (ready, body) = probe(&engine).await;
            let body = serde_json::to_value(body).unwrap_or_default();
            *last = Some((std::time::Instant::now(), ready, body.clone()));
            (ready, body)
        }
    };
    drop(last);
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// How long a readiness answer is reused.
const READY_REUSE: std::time::Duration = std::time::Duration::from_secs(2);

async fn probe(engine: &Engine) -> (bool, ReadyBody) {
    let database = actix_web::rt::time::timeout(
        STORE_TIMEOUT,
        engine.store.run(|c| Ok(c.batch_execute("SELECT 1")?)),
    )
    .await;
    let database_ok = matches!(database, Ok(Ok(())));
    let checks = engine.stores.iter().map(|s| {
        let engine = engine.clone();
        let name = s.map.name.clone();
        async move {
            let n = name.clone();
            let probe = actix_web::rt::task::spawn_blocking(move || engine.connector(&n)?.ping());
            match actix_web::rt::time::timeout(STORE_TIMEOUT, probe).await {
                Ok(Ok(Ok(()))) => StoreHealth {
                    name,
                    status: "ok".into(),
                    class: None,
                    code: None,
                },
                Ok(Ok(Err(e))) => StoreHealth {
                    name,
                    status: "unreachable".into(),
                    class: Some(e.class().as_str().into()),
                    code: Some(e.code().into()),
                },
                Ok(Err(_)) => StoreHealth {
                    name,
                    status: "unreachable".into(),
                    class: Some("transient".into()),
                    code: Some("probe".into()),
                },
                Err(_) => StoreHealth {
                    name,
                    status: "unreachable".into(),
                    class: Some("transient".into()),
                    code: Some("timeout".into()),
                },
            }
        }
    });
    let stores = futures_util::future::join_all(checks).await;
    let ready = database_ok && stores.iter().all(|s| s.status == "ok");
    let body = ReadyBody {
        status: if ready { "ok" } else { "unavailable" }.into(),
        database: if database_ok { "ok" } else { "unreachable" }.into(),
        stores,
    };
    (ready, body)
}

/// Prometheus metrics, in the text exposition format 0.0.4 (docs/OPERATIONS.md). A staff token
/// of role `auditor` or `dpo`, or the scraper's token (`[metrics] token`).
#[utoipa::path(
    get, path = "/metrics", tag = "auditor", operation_id = "get_metrics",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The metrics, in the Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`)", body = String, content_type = "text/plain"),
        (status = 401, description = "No token, or one that is not valid", body = crate::error::ErrorBody),
        (status = 403, description = "A staff token of another role", body = crate::error::ErrorBody),
        (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody),
    )
)]
pub async fn get_metrics(
    req: HttpRequest,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let scraper = crate::auth::bearer(&req).is_some_and(|t| {
        rightful_engine::metrics::token_matches(&engine.settings.metrics.token, &t)
    });
    if !scraper {
        use actix_web::FromRequest as _;
        crate::auth::Auth::<crate::auth::Auditor>::extract(&req).await?;
    }
    let text = rightful_engine::metrics::render(&engine).await?;
    Ok(HttpResponse::Ok()
        .content_type(rightful_engine::metrics::CONTENT_TYPE)
        .body(text))
}
