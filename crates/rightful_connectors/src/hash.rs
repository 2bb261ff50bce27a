//! Keyed hashing for the `hash` erasure strategy: HMAC-SHA-256 with a secret that only the
//! environment holds, so a hashed value cannot be reversed by trying likely inputs.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix that marks a value Rightful already replaced (keeps erasure idempotent).
pub const PREFIX: &str = "erased:";

/// The replacement for `value`: `erased:` and the hex HMAC, cut to `max_len` characters when the
/// column is shorter. A value that already carries the prefix is returned unchanged.
pub fn keyed(secret: &[u8], value: &str, max_len: Option<usize>) -> String {
    if value.starts_with(PREFIX) {
        return value.to_owned();
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return PREFIX.to_owned();
    };
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = format!("{PREFIX}{}", rightful_core::audit::hex(&digest));
    if let Some(n) = max_len {
        out.truncate(n.max(PREFIX.len() + 16));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_keyed_stable_and_idempotent() {
        let a = keyed(b"k1", "ann@example.test", None);
        assert_eq!(a, keyed(b"k1", "ann@example.test", None));
        assert_ne!(a, keyed(b"k2", "ann@example.test", None));
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        assert_eq!(keyed(b"k1", &a, None), a);
        assert_eq!(keyed(b"k1", "x", Some(40)).len(), 40);
    }
}
