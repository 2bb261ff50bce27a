//! `GET /health`.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use rightful_engine::Engine;

/// Liveness and readiness: the server answers and the engine database responds.
#[utoipa::path(
    get, path = "/health", tag = "public", operation_id = "get_health",
    responses((status = 200, description = "The server answers and the engine database responds", body = crate::openapi::HealthBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody))
)]
pub async fn get_health(engine: web::Data<Engine>, _: Public) -> Result<HttpResponse, ApiError> {
    engine
        .store
        .run(|c| Ok(c.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "database": "ok",
        "purposes": engine.policy.purposes.len(),
        "version": env!("CARGO_PKG_VERSION"),
    })))
}
