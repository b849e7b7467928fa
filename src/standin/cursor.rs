//! The opaque list cursor: a keyset position `(started_at, id)` in URL-safe hex with a checksum.
//!
//! Keyset (not offset) so a walk stays stable while new conversations are inserted: the next page
//! starts strictly after the last conversation the client saw, whatever was added meanwhile.

use super::rng::mix;

const VERSION: &str = "k1";

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub started_ms: i64,
    pub id: String,
}

fn checksum(payload: &[u8]) -> u32 {
    let mut h = 0x6a09_e667_f3bc_c908u64;
    for &b in payload {
        h = mix(h ^ b as u64);
    }
    (h >> 32) as u32
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mut payload = self.started_ms.to_be_bytes().to_vec();
        payload.extend_from_slice(self.id.as_bytes());
        format!("{VERSION}{:08x}{}", checksum(&payload), hex(&payload))
    }

    /// `None` for anything this server did not hand out.
    pub fn decode(s: &str) -> Option<Cursor> {
        let rest = s.strip_prefix(VERSION)?;
        if rest.len() < 8 + 16 || rest.len() > 8 + 16 + 512 {
            return None;
        }
        let sum = u32::from_str_radix(rest.get(..8)?, 16).ok()?;
        let payload = unhex(&rest[8..])?;
        if checksum(&payload) != sum {
            return None;
        }
        let started_ms = i64::from_be_bytes(payload[..8].try_into().ok()?);
        let id = String::from_utf8(payload[8..].to_vec()).ok()?;
        Some(Cursor { started_ms, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let c = Cursor {
            started_ms: 1_780_000_000_123,
            id: "CA0123456789abcdef0123456789abcdef".into(),
        };
        let s = c.encode();
        assert!(
            s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        );
        assert_eq!(Cursor::decode(&s), Some(c));
        let mut bad = s.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(Cursor::decode(std::str::from_utf8(&bad).unwrap()), None);
        for junk in ["", "k1", "abc", "k1zzzzzzzz0000000000000000", "k1é"] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }
}
