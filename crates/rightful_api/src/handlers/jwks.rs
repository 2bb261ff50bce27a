//! `GET /.well-known/jwks.json`: Rightful's public key, to verify acknowledgements of receipt.

use crate::auth::Public;
use actix_web::{HttpResponse, web};
use rightful_engine::Engine;

/// The JWK Set.
pub async fn get_jwks(engine: web::Data<Engine>, _: Public) -> HttpResponse {
    HttpResponse::Ok().json(engine.signer.jwks())
}
