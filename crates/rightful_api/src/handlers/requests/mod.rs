//! The DPO's request queue.

pub mod decide;
pub mod get;
pub mod list;
pub mod status;
pub mod submit;
pub mod verify;

/// A path id that is not a UUID names no request: 404, whatever it tries.
pub(crate) fn request_id(raw: &str) -> Result<String, crate::error::ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| crate::error::ApiError::NotFound)
}
