//! `GET /v1/register?format=csv|json|jsonld`.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;
use rightful_engine::register::{self, Format};
use serde::Deserialize;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// `csv` (default), `json` or `jsonld`.
    pub format: Option<String>,
}

/// Exports the register (Art. 30) derived from the policy the engine enforces.
#[utoipa::path(
    get, path = "/v1/register", tag = "public", operation_id = "get_register",
    params(("format" = Option<crate::openapi::RegisterFormat>, Query, description = "csv (default, CNIL template order), json or jsonld (DPV)")),
    responses((status = 200, description = "The register of processing activities (Art. 30)", content((String = "text/csv"), (Object = "application/json"), (Object = "application/ld+json"))), (status = 400, description = "An unknown format or parameter", body = crate::error::ErrorBody), (status = 409, description = "`register_incomplete`: an Art. 30(1) field is empty", body = crate::error::ErrorBody))
)]
pub async fn get_register(
    engine: web::Data<Engine>,
    query: web::Query<Query>,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let format: Format = query.format.as_deref().unwrap_or("csv").parse()?;
    let base = register::base_iri(&engine.policy, &engine.settings.register.base_iri);
    let mut body = Vec::new();
    register::export(&engine.policy, format, &base, &mut body)?;
    let filename = format!("register.{}", format.extension());
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .body(body))
}
