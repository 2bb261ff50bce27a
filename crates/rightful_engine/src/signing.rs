//! Rightful's own Ed25519 key: it signs every acknowledgement of receipt (a compact JWS, EdDSA)
//! so that the date the legal clock started is provable; the public key is published as a JWKS.

use crate::EngineError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The variable that may hold the key's secret (else `<data_dir>/signing.key`).
pub const SIGNING_KEY_VAR: &str = "RIGHTFUL_SIGNING_KEY";

/// Signs and verifies Rightful's JWS.
pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: [u8; 32],
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The key derived from a secret (its SHA-256 is the Ed25519 seed).
    pub fn from_secret(secret: &[u8]) -> Result<Self, EngineError> {
        let seed: [u8; 32] = Sha256::digest(secret).into();
        let key = SigningKey::from_bytes(&seed);
        let der = key.to_pkcs8_der().map_err(|e| EngineError::Io {
            path: "signing key".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let public = key.verifying_key().to_bytes();
        let kid = rightful_core::audit::hex(&Sha256::digest(public)[..8]);
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            public,
            kid,
        })
    }

    /// Signs claims as a compact JWS.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Option<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).ok()
    }

    /// Verifies a JWS this key signed.
    pub fn verify<T: DeserializeOwned>(&self, jws: &str) -> Option<T> {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        jsonwebtoken::decode::<T>(jws, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }

    /// The public key as a JWK Set.
    ///
    /// See [`verify_with_jwks`] to check a JWS against such a set without the secret.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(self.public),
        }]})
    }
}

/// Verifies a JWS (EdDSA) against the keys of a JWK Set, e.g. Rightful's published
/// `/.well-known/jwks.json` kept by an auditor: the key named by the header's `kid`, else any key
/// of the set that verifies it.
pub fn verify_with_jwks<T: DeserializeOwned>(
    jwks: &jsonwebtoken::jwk::JwkSet,
    jws: &str,
) -> Option<T> {
    let kid = jsonwebtoken::decode_header(jws).ok()?.kid;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    jwks.keys
        .iter()
        .filter(|k| kid.is_none() || k.common.key_id.is_none() || k.common.key_id == kid)
        .filter_map(|k| DecodingKey::from_jwk(k).ok())
        .find_map(|key| jsonwebtoken::decode::<T>(jws, &key, &v).ok())
        .map(|d| d.claims)
}
