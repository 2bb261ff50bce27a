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
    get, path = "/v1/requests/{id}/result", tag = "subject",
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The result, a ZIP", content_type = "application/zip"), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "Not completed yet", body = crate::error::ErrorBody), (status = 410, description = "The download expired", body = crate::error::ErrorBody)),
    security(("request_token" = []))
)]
pub async fn get_result(
    engine: web::Data<Engine>,
    path: web::Path<String>,
    req: HttpRequest,
    _: Public,
) -> Result<HttpResponse, ApiError> {
    let id = super::request_id(&path)?;
    let token = super::subject_token(&req)?;
    let view = rightful_engine::intake::status_for_subject(&engine, &id, &token).await?;
    if view.status != "completed" {
        return Err(ApiError::NotReady(view.status));
    }
    let completed_at = view
        .history
        .iter()
        .rev()
        .find(|(_, s)| s == "completed")
        .map(|(at, _)| *at)
        .unwrap_or(view.received_at);
    let days = engine.settings.execution.download_days;
    if chrono::Utc::now().naive_utc() > completed_at + chrono::Duration::days(days) {
        return Err(ApiError::Expired);
    }
    let file = rightful_engine::execution::result_path(&engine, &id);
    zip_download(&file, &id)
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
