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
    if let Some(k) = &query.kind
        && rightful_core::intake::RequestType::parse(k).is_none()
    {
        return Err(ApiError::BadRequest(format!("unknown request type `{k}`")));
    }
    let today = chrono::Utc::now().date_naive();
    let window = chrono::Days::new(u64::from(engine.settings.deadlines.answer_early_days));
    let due = query.due.clone();
    if due
        .as_deref()
        .is_some_and(|d| d != "soon" && d != "overdue")
    {
        return Err(ApiError::BadRequest("`due` is soon or overdue".into()));
    }
    let kind = query.kind.clone();
    let rows: Vec<_> = engine
        .store
        .run(move |c| rightful_store::models::request::list(c, status))
        .await?
        .into_iter()
        .filter(|r| kind.as_ref().is_none_or(|k| &r.kind == k))
        .filter(|r| {
            let open = r.status().is_ok_and(|s| !s.is_final());
            match due.as_deref() {
                Some("soon") => {
                    open && r.due_on >= today
                        && r.due_on <= today.checked_add_days(window).unwrap_or(today)
                }
                Some("overdue") => open && r.due_on < today,
                _ => true,
            }
        })
        .collect();
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({"id": r.id, "type": r.kind, "status": r.status, "channel": r.channel, "received_at": r.received_at, "due_on": r.due_on, "extended": r.extended}))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"requests": items})))
}
