//! `GET /v1/requests/{id}/result` with `Authorization: Request <token>`: the subject downloads
//! what their request produced — the access report and copy of the data, the portability files,
//! or the signed erasure certificate — as a ZIP, streamed, until the link expires.

use crate::auth::Public;
use crate::error::ApiError;
use actix_web::{HttpRequest, HttpResponse, web};
use rightful_engine::Engine;

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
    let token = super::limited_token(&req, &engine)?;
    // The token is checked first: an unknown request and a wrong token look alike; a right
    // token before verification discloses nothing (issue 12 item 1).
    rightful_engine::intake::require_verified(&engine, &id, &token).await?;
    use rightful_engine::execution::Download;
    match rightful_engine::execution::download(&engine, &id, chrono::Utc::now().naive_utc()).await?
    {
        Download::Ready { size, .. } => Ok(zip_download(&engine, &id, size, &id)),
        Download::NotReady(status) => Err(ApiError::NotReady(status.as_str().to_owned())),
        Download::Expired => Err(ApiError::Expired),
        Download::Missing => Err(ApiError::NotFound),
    }
}

/// Streams a stored result ZIP as a download, one chunk from the engine's database at a time
/// (memory stays bounded whatever the size; any server sharing the database serves it). Its
/// length is announced, so a download cut short (the result deleted meanwhile) shows as such.
pub(crate) fn zip_download(
    engine: &Engine,
    request_id: &str,
    size: i64,
    name: &str,
) -> HttpResponse {
    let (engine, rid) = (engine.clone(), request_id.to_owned());
    let stream = futures_util::stream::unfold(Some(0), move |seq| {
        let (engine, rid) = (engine.clone(), rid.clone());
        async move {
            let seq = seq?;
            match rightful_engine::execution::result_chunk(&engine, &rid, seq).await {
                Ok(Some(bytes)) => Some((
                    Ok::<_, actix_web::Error>(web::Bytes::from(bytes)),
                    Some(seq + 1),
                )),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(request.id = %rid, error = %e, "result download cut short");
                    Some((Err(actix_web::error::ErrorServiceUnavailable("")), None))
                }
            }
        }
    });
    HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"rightful-{name}.zip\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .no_chunking(u64::try_from(size).unwrap_or(0))
        .streaming(stream)
}
