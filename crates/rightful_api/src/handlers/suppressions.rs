//! `POST /v1/suppressions/check`: the site's mailing tool asks, before writing to an address,
//! whether its owner objected to that marketing purpose (Art. 21(3), C7). Role `site` (or `dpo`).
//! The address travels in the body, never in a URL that logs could keep.

use crate::auth::{Auth, Site};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use serde::Deserialize;

/// The question.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = SuppressionCheck)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The marketing purpose.
    pub purpose: String,
    /// The address about to be written to.
    pub email: String,
}

/// `{"suppressed": true|false}`.
#[utoipa::path(
    post, path = "/v1/suppressions/check", tag = "site", operation_id = "check_suppression",
    request_body = Check,
    responses((status = 200, description = "Whether the address must not be written to for that purpose", body = crate::openapi::SuppressionBody), (status = 400, description = "Malformed body, unknown field, or not a marketing purpose", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 413, description = "The body is larger than `server.body_limit_kib` (also when only Content-Length announces it)", body = crate::error::ErrorBody), (status = 415, description = "The body is not sent as `application/json`", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn post_check(
    _: Auth<Site>,
    engine: web::Data<Engine>,
    body: web::Json<Check>,
) -> Result<HttpResponse, ApiError> {
    let purpose = engine
        .policy
        .purpose(&body.purpose)
        .filter(|p| p.marketing)
        .ok_or_else(|| {
            ApiError::BadRequest(format!("`{}` is not a marketing purpose", body.purpose))
        })?;
    let suppressed =
        rightful_engine::suppression::is_suppressed(&engine, purpose.id.as_ref(), &body.email)
            .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"suppressed": suppressed})))
}
