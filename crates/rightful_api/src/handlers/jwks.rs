//! `GET /.well-known/jwks.json`: Rightful's public key, to verify acknowledgements of receipt.

use crate::auth::Public;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;

/// The JWK Set.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "public", operation_id = "get_jwks",
    responses((status = 200, description = "Rightful's Ed25519 public key (JWK Set), to verify acknowledgements of receipt", body = crate::openapi::Jwks))
)]
pub async fn get_jwks(engine: web::Data<Engine>, _: Public) -> HttpResponse {
    HttpResponse::Ok().json(engine.signer.jwks())
}
