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
    /// Only this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `soon` (due within the answer-early window and not closed) or `overdue` (past due and not
    /// closed).
    pub due: Option<String>,
    /// `true`: only requests whose clock is paused — waiting for the requester's identity (A5)
    /// or for an unreachable store.
    pub paused: Option<bool>,
}

/// Lists requests by due date.
#[utoipa::path(
    get, path = "/v1/requests", tag = "dpo", operation_id = "list_requests",
    params(("status" = Option<crate::openapi::RequestStatus>, Query, description = "Only this status"), ("type" = Option<crate::openapi::RequestTypeName>, Query, description = "Only this type"), ("due" = Option<crate::openapi::DueFilter>, Query, description = "soon or overdue"), ("paused" = Option<bool>, Query, description = "Only requests whose clock is paused")),
    responses((status = 200, description = "The queue, soonest due first", body = crate::openapi::QueueBody), (status = 400, description = "Malformed query or body, an unknown field or parameter, or a value out of its set", body = crate::error::ErrorBody), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_requests(
    _: Auth<Dpo>,
    engine: web::Data<Engine>,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    use rightful_store::models::request::Filter;
    let mut filter = Filter::default();
    if let Some(s) = query.status.as_deref() {
        filter.statuses = vec![s.parse::<Status>().map_err(ApiError::BadRequest)?];
    }
    if let Some(k) = &query.kind {
        if rightful_core::intake::RequestType::parse(k).is_none() {
            return Err(ApiError::BadRequest(format!("unknown request type `{k}`")));
        }
        filter.kind = Some(k.clone());
    }
    let open: Vec<Status> = Status::ALL.into_iter().filter(|s| !s.is_final()).collect();
    let narrow = |filter: &mut Filter, allowed: &[Status]| {
        filter.statuses = if filter.statuses.is_empty() {
            allowed.to_vec()
        } else {
            filter
                .statuses
                .iter()
                .copied()
                .filter(|s| allowed.contains(s))
                .collect()
        };
    };
    let today = chrono::Utc::now().date_naive();
    let window = chrono::Days::new(u64::from(engine.settings.deadlines.answer_early_days));
    match query.due.as_deref() {
        None => {}
        Some("soon") => {
            narrow(&mut filter, &open);
            filter.due_from = Some(today);
            filter.due_before = Some(today.checked_add_days(window).unwrap_or(today));
        }
        Some("overdue") => {
            narrow(&mut filter, &open);
            filter.due_before = today.pred_opt();
        }
        Some(_) => return Err(ApiError::BadRequest("`due` is soon or overdue".into())),
    }
    if query.paused == Some(true) {
        narrow(&mut filter, &[Status::IdentityPending, Status::Paused]);
    }
    // A filter that leaves no status matches nothing (not everything).
    let none_left = filter.statuses.is_empty()
        && (query.status.is_some() || query.due.is_some() || query.paused == Some(true));
    let rows = if none_left {
        Vec::new()
    } else {
        engine
            .store
            .run(move |c| rightful_store::models::request::list(c, &filter))
            .await?
    };
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({"id": r.id, "type": r.kind, "status": r.status, "channel": r.channel, "received_at": r.received_at, "due_on": r.due_on, "extended": r.extended, "paused": matches!(r.status.as_str(), "identity_pending" | "paused")}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"requests": items})))
}
