//! `GET /v1/requests?status=…`: the queue, soonest due first.

use crate::auth::{Auth, Dpo};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_core::lifecycle::Status;
use rightful_engine::Engine;
use serde::Deserialize;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Only this status.
    pub status: Option<String>,
}

/// Lists requests by due date.
pub async fn list_requests(
    engine: web::Data<Engine>,
    query: web::Query<Query>,
    _: Auth<Dpo>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<Status>().map_err(ApiError::BadRequest)?),
    };
    let rows = engine
        .store
        .run(move |c| rightful_store::models::request::list(c, status))
        .await?;
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({"id": r.id, "type": r.kind, "status": r.status, "channel": r.channel, "received_at": r.received_at, "due_on": r.due_on, "extended": r.extended}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"requests": items})))
}
