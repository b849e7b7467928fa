//! Random identifiers and secrets (`whe_…`, `whsec_…`, `evt_…`).
//!
//! Signing secrets must be unpredictable, so bytes come from the OS (`/dev/urandom`). Where
//! that is missing, std's randomly keyed SipHash is the fallback; it is still seeded by the OS.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if from_os.is_err() {
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    buf
}

/// `len` characters of `[0-9A-Za-z]` (rejection sampling keeps them uniform).
pub fn token(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes(len * 2) {
            // 248 = 4 × 62: bytes above it would bias the first characters.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

pub fn endpoint_id() -> String {
    format!("whe_{}", token(22))
}

pub fn signing_secret() -> String {
    format!("whsec_{}", token(32))
}

pub fn event_id() -> String {
    format!("evt_{}", token(22))
}

/// An endpoint id as the API writes it: `^whe_[A-Za-z0-9]+$`.
pub fn is_valid_id(id: &str) -> bool {
    id.strip_prefix("whe_")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_right_shape_and_differ() {
        let a = endpoint_id();
        assert_eq!(a.len(), 26);
        assert!(a[4..].bytes().all(|b| b.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, endpoint_id());
        assert!(signing_secret().starts_with("whsec_"));
        assert_ne!(signing_secret(), signing_secret());
    }
}
