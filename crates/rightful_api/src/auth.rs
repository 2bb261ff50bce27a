//! Role extractors: a handler names the role it needs as an argument, so a required role cannot be
//! forgotten. Today every route is public; the staff roles (`dpo`, `auditor`) arrive with staff
//! authentication.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{Ready, ready};

/// The route needs no authentication: it serves no personal data (health, the register of
/// processing activities, which describes processing and names no data subject).
#[derive(Debug, Clone, Copy)]
pub struct Public;

impl FromRequest for Public {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Self))
    }
}
