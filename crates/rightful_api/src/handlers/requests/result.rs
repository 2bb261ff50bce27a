//! `GET /v1/requests/{id}/result` with `Authorization: Request <token>`: the subject downloads
//! what their request produced — the access report and copy of the data, the portability files,
//! or the signed erasure certificate — as a ZIP, streamed, until the link expires.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;
use std::io::Read;

/// The ZIP; 404 for an unknown request or a wrong token, 409 before the request is completed,
/// 410 once the download has expired.
#[utoipa::path(
    get, path = "/v1/requests/{id}/result", tag = "subject", operation_id = "get_request_result",
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The result, a ZIP", content((String = "application/zip"))), (status = 403, description = "`identity_not_verified`: the request's identity is not verified yet", body = crate::error::ErrorBody), (status = 404, description = "Unknown request, any id that is not a UUID, or a missing or wrong subject token (indistinguishable)", body = crate::error::ErrorBody), (status = 409, description = "`not_ready`: not completed yet", body = crate::error::ErrorBody), (status = 410, description = "`expired`: the download expired", body = crate::error::ErrorBody), (status = 429, description = "Too many calls from this client: try again after `Retry-After` seconds", body = crate::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))), (status = 503, description = "The engine database cannot be reached", body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
pub async fn get_result(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    crate::auth::limit(
        &req,
        &engine,
        rightful_engine::limits::Scope::TokenIp,
        engine.settings.limits.token_per_ip,
    )?;
    let token = super::subject_token(&req)?;
    // The token is checked first: an unknown request and a wrong token look alike; a right
    // token before verification discloses nothing (issue 12 item 1).
    rightful_engine::intake::require_verified(&engine, &id, &token).await?;
    use rightful_engine::execution::Download;
    match rightful_engine::execution::download(&engine, &id, chrono::Utc::now().naive_utc()).await?
    {
        Download::Ready { path, .. } => zip_download(&path, &id),
        Download::NotReady(status) => Err(ApiError::NotReady(status.as_str().to_owned())),
        Download::Expired => Err(ApiError::Expired),
        Download::Missing => Err(ApiError::NotFound),
    }
}

/// Streams a result ZIP as a download.
pub(crate) fn zip_download(file: &std::path::Path, id: &str) -> Result<HttpResponse, ApiError> {
    let f = std::fs::File::open(file).map_err(|_| ApiError::NotFound)?;
    // Streamed in 64 KiB chunks: memory stays bounded whatever the size of the export.
    let stream = futures_util::stream::unfold(f, |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, actix_web::Error>(web::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), f)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"rightful-{id}.zip\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(stream))
}
