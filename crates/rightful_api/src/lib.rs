#![doc = include_str!("../README.md")]
//!
//! Errors: handlers return [`error::ApiError`]; its `code()` is the single table from error
//! variant to HTTP status and stable snake_case code. Causes of 500s are logged once, here, and
//! never sent to the client.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod openapi;
pub mod routes;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use rightful_engine::Engine;
use std::net::TcpListener;

/// Starts the HTTP server on an already bound listener (port 0 works, for tests).
pub fn serve(engine: Engine, listener: TcpListener) -> std::io::Result<Server> {
    let data = web::Data::new(engine);
    let server = HttpServer::new(move || App::new().configure(routes::configure(data.clone())))
        .listen(listener)?
        .run();
    Ok(server)
}
