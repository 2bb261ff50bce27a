//! Legal holds (role `dpo`): `GET /v1/holds`, `POST /v1/holds`, `DELETE /v1/holds/{id}`. A held
//! subject's records are kept by the retention sweeps whatever their age.

use crate::auth::{Auth, Dpo};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// A new hold.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// The identity kind: email, customer_id, ip_address, …
    pub identity: String,
    /// Its value.
    pub value: String,
    /// Why (the claim, the investigation).
    pub reason: String,
}

/// Every hold, newest first.
#[utoipa::path(
    get, path = "/v1/holds", tag = "dpo", operation_id = "list_holds",
    responses((status = 200, description = "Every hold, newest first", body = crate::openapi::HoldsBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_holds(_: Auth<Dpo>, engine: web::Data<Engine>) -> Result<HttpResponse, ApiError> {
    let holds = rightful_engine::retention::holds(&engine).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"holds": holds})))
}

/// Places a hold: 201 with its id.
#[utoipa::path(
    post, path = "/v1/holds", tag = "dpo", operation_id = "place_hold", request_body = NewHold,
    responses((status = 201, description = "Placed", body = crate::openapi::HoldCreated), (status = 400, description = "Malformed body, unknown field, an identity kind no store map knows, or an empty value or reason", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn post_hold(
    auth: Auth<Dpo>,
    engine: web::Data<Engine>,
    body: web::Json<NewHold>,
) -> Result<HttpResponse, ApiError> {
    let id = rightful_engine::retention::place_hold(
        &engine,
        &body.identity,
        &body.value,
        &body.reason,
        &auth.actor(),
        chrono::Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"id": id})))
}

/// Releases a hold: 204.
#[utoipa::path(
    delete, path = "/v1/holds/{id}", tag = "dpo", operation_id = "release_hold",
    params(("id" = String, Path, description = "The hold")),
    responses((status = 204, description = "Released"), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 404, description = "No such active hold (also any id that is not a UUID)", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn delete_hold(
    auth: Auth<Dpo>,
    engine: web::Data<Engine>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::requests::request_id(&path)?;
    rightful_engine::retention::release_hold(&engine, &id, &auth.actor(), chrono::Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
