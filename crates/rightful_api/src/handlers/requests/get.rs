//! `GET /v1/requests/{id}`: one request with its subject and full history, for the DPO.

use crate::auth::{Auth, Dpo};
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_store::models::request;

/// The request, its subject and its events.
#[utoipa::path(
    get, path = "/v1/requests/{id}", tag = "dpo", operation_id = "get_request",
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The request, its subject, documents, execution journal and full history", body = crate::openapi::RequestDetail), (status = 401, description = "No staff token, or one that is malformed, expired or not ours (checked before the query and the body)", body = crate::error::ErrorBody), (status = 403, description = "The token's role may not call this route", body = crate::error::ErrorBody), (status = 404, description = "No such request (also any id that is not a UUID)", body = crate::error::ErrorBody), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_request(
    _: Auth<Dpo>,
    engine: web::Data<Engine>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let found = engine
        .store
        .run(move |c| {
            let Some(row) = request::find(c, &id)? else {
                return Ok(None);
            };
            Ok(Some((
                row,
                request::subject(c, &id)?,
                request::events(c, &id)?,
            )))
        })
        .await?;
    let (row, subject, events) = found.ok_or(ApiError::NotFound)?;
    let documents = rightful_engine::documents::list(&engine, &row.id).await?;
    let journal = rightful_engine::execution::journal(&engine, &row.id).await?;
    let details: serde_json::Value = subject
        .as_ref()
        .and_then(|s| serde_json::from_str(&s.details).ok())
        .unwrap_or_default();
    // D6: on a notice of death, the directives held for the deceased, if any.
    let directives = match details.pointer("/deceased/email").and_then(|e| e.as_str()) {
        Some(email) if row.kind == "post_mortem" => {
            let email = rightful_core::intake::SubjectEmail::parse(email)
                .map(|e| e.as_ref().to_owned())
                .unwrap_or_default();
            Some(rightful_engine::postmortem::in_force(&engine, &email).await?)
        }
        _ => None,
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": row.id, "type": row.kind, "status": row.status, "channel": row.channel,
        "received_at": row.received_at, "due_on": row.due_on, "extended": row.extended,
        "subject": subject.map(|s| serde_json::json!({
            "email": s.email, "name": s.name, "duplicate_of": s.duplicate_of,
            "details": serde_json::from_str::<serde_json::Value>(&s.details).unwrap_or_default(),
        })),
        "documents": documents,
        "execution": journal,
        "directives_in_force": directives,
        "history": events.iter().map(|e| serde_json::json!({"at": e.at, "actor": e.actor, "from": e.from_status, "to": e.to_status, "reason": e.reason})).collect::<Vec<_>>(),
    })))
}
