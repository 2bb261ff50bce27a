//! `POST /v1/requests`: a data subject submits a request (any wording, A14).

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::intake::{Submission, submit};

/// Accepts the request: 201 with its id, the subject's token, the due date and the signed
/// acknowledgement of receipt.
pub async fn submit_request(
    engine: web::Data<Engine>,
    body: web::Json<Submission>,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let accepted = submit(&engine, body.into_inner(), "web", chrono::Utc::now()).await?;
    Ok(HttpResponse::Created().json(accepted))
}
