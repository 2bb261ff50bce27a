//! The suppression list (Art. 21(3), checklist C7): after a marketing objection the subject's
//! data is erased from the marketing purposes and only a keyed hash of the address stays, so
//! that the site's mailing tools can ask, before writing to an address, whether its owner
//! objected — without Rightful keeping the address itself.

use crate::{Engine, EngineError};

/// The keyed hash of an address (lower-cased), as stored.
pub fn hash(key: &[u8], email: &str) -> String {
    rightful_connectors::hash::keyed(key, &email.trim().to_lowercase(), None)
}

/// Whether the owner of `email` objected to marketing `purpose`.
pub async fn is_suppressed(
    engine: &Engine,
    purpose: &str,
    email: &str,
) -> Result<bool, EngineError> {
    let key = crate::stores::hash_key(&engine.settings)?;
    let (purpose, h) = (purpose.to_owned(), hash(&key, email));
    Ok(engine
        .store
        .run(move |c| rightful_store::models::suppression::is_suppressed(c, &purpose, &h))
        .await?)
}
