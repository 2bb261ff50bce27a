//! `GET /v1/audit?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json|csv`: the audit trail for a period.

use crate::auth::{Auditor, Auth};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use rightful_engine::Engine;
use serde::Deserialize;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// First day, inclusive.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Exports the entries of the period.
#[utoipa::path(
    get, path = "/v1/audit", tag = "auditor", operation_id = "get_audit",
    params(("from" = Option<chrono::NaiveDate>, Query, description = "First day, YYYY-MM-DD"), ("to" = Option<chrono::NaiveDate>, Query, description = "Last day, YYYY-MM-DD"), ("format" = Option<crate::openapi::AuditFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "The entries of the period, each with its hash and the previous one's", content((Vec<crate::openapi::AuditEntry> = "application/json"), (String = "text/csv"))), (status = 400, description = "Malformed query or body, an unknown field or parameter, or a value out of its set", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_audit(
    _: Auth<Auditor>,
    engine: web::Data<Engine>,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let from = query.from.and_then(|d| d.and_hms_opt(0, 0, 0));
    let to = query
        .to
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    let entries = engine
        .store
        .run(move |c| rightful_store::models::audit::between(c, from, to))
        .await?;
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(HttpResponse::Ok().json(entries)),
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let internal = |e: csv::Error| ApiError::Internal(e.to_string());
            w.write_record([
                "seq",
                "at",
                "actor",
                "action",
                "target",
                "reason",
                "details",
                "prev_hash",
                "hash",
            ])
            .map_err(internal)?;
            for e in &entries {
                w.write_record([
                    e.seq.to_string(),
                    e.content.at.to_rfc3339(),
                    e.content.actor.clone(),
                    e.content.action.clone(),
                    e.content.target.clone(),
                    e.content.reason.clone(),
                    e.content.details.to_string(),
                    e.prev_hash.clone(),
                    e.hash.clone(),
                ])
                .map_err(internal)?;
            }
            let body = w
                .into_inner()
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .body(body))
        }
        other => Err(ApiError::BadRequest(format!(
            "unknown audit format `{other}`: use json or csv"
        ))),
    }
}
