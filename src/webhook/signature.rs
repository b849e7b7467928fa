//! Webhook signatures: lowercase hex HMAC-SHA256 keyed with the signing secret's UTF-8 bytes.
//!
//! Two schemes exist in PolyAI's docs: the quickstart signs the raw body, the reference docs
//! sign `"{timestamp}.{body}"`. Senders pick one; receivers accept either, compare in constant
//! time, and refuse stale timestamps (replay protection). The header may carry several
//! signatures, comma-separated, each bare hex or `sha256=hex` (senders rotating keys sign with
//! each): any valid one accepts.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Header names of a delivery.
pub const SIGNATURE_HEADER: &str = "X-PolyAI-Signature";
pub const TIMESTAMP_HEADER: &str = "X-PolyAI-Timestamp";
pub const EVENT_ID_HEADER: &str = "X-PolyAI-Event-ID";

/// How far a `X-PolyAI-Timestamp` may be from now, in either direction (polyai-api.md §6.4).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// What a sender signs. The default is the reference's scheme (what PolyAI documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SignatureScheme {
    /// The quickstart: HMAC over the raw body.
    Body,
    /// The reference docs: HMAC over `"{timestamp}.{body}"`.
    #[default]
    Timestamped,
}

/// A signing secret. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
    /// The raw secret: only for signing, and for the one-time display at creation/rotation.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

// Cannot fail: HMAC-SHA256 takes keys of any length.
#[allow(clippy::expect_used)]
fn mac_over(secret: &SigningSecret, timestamp: Option<&str>, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts keys of any length");
    if let Some(ts) = timestamp {
        mac.update(ts.as_bytes());
        mac.update(b".");
    }
    mac.update(body);
    mac
}

/// The `X-PolyAI-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &SigningSecret, scheme: SignatureScheme, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let ts = match scheme {
        SignatureScheme::Body => None,
        SignatureScheme::Timestamped => Some(ts.as_str()),
    };
    to_hex(&mac_over(secret, ts, body).finalize().into_bytes())
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    MissingSignature,
    /// No entry of the header is 64 hex digits (bare or `sha256=`-prefixed).
    MalformedSignature,
    /// More than [`MAX_SIGNATURES`] entries: refused without computing anything.
    TooManySignatures,
    /// `X-PolyAI-Timestamp` is not an integer.
    MalformedTimestamp,
    /// `X-PolyAI-Timestamp` is more than the tolerance away from now.
    StaleTimestamp {
        skew_secs: i64,
    },
    /// No secret and scheme produce any of the signatures.
    Mismatch,
}

/// Most signatures one header may carry (a rotation sends two or three).
pub const MAX_SIGNATURES: usize = 8;

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::MissingSignature => f.write_str("missing X-PolyAI-Signature header"),
            VerifyError::MalformedSignature => {
                f.write_str("X-PolyAI-Signature holds no 64-digit hex HMAC-SHA256 (bare or sha256=…, comma-separated)")
            }
            VerifyError::TooManySignatures => {
                write!(f, "X-PolyAI-Signature lists more than {MAX_SIGNATURES} signatures")
            }
            VerifyError::MalformedTimestamp => f.write_str("X-PolyAI-Timestamp is not a Unix time in seconds"),
            VerifyError::StaleTimestamp { skew_secs } => write!(
                f,
                "X-PolyAI-Timestamp is {skew_secs}s away from now (more than {DEFAULT_TOLERANCE_SECS}s): possible replay or clock skew"
            ),
            VerifyError::Mismatch => {
                f.write_str("signature does not match: wrong signing secret, or the body was altered")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

/// What a verified delivery's signature covers, so the receiver can dedupe on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The scheme that matched: `Timestamped` means the timestamp header is signed too.
    pub scheme: SignatureScheme,
}

/// The signatures a header carries: entries separated by commas (several during a key
/// rotation), each bare hex or `sha256=`-prefixed. Entries that are not 32-byte hex digests
/// are skipped; at least one must be.
fn parse_signatures(header: &str) -> Result<Vec<Vec<u8>>, VerifyError> {
    let entries: Vec<&str> = header.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(VerifyError::TooManySignatures);
    }
    let digests: Vec<Vec<u8>> = entries
        .into_iter()
        .map(|e| match e.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("sha256=") => &e[7..],
            _ => e,
        })
        .filter_map(|hex| from_hex(hex.trim()).filter(|d| d.len() == 32))
        .collect();
    if digests.is_empty() {
        return Err(VerifyError::MalformedSignature);
    }
    Ok(digests)
}

/// Checks a delivery against every secret (several during a rotation), both schemes and every
/// signature in the header (any one valid accepts).
///
/// `timestamp` is the `X-PolyAI-Timestamp` header, if sent; when present it must be within
/// `tolerance_secs` of `now_unix`, whichever scheme signed the body.
pub fn verify(
    secrets: &[SigningSecret],
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<Verified, VerifyError> {
    let signature = signature.ok_or(VerifyError::MissingSignature)?;
    let given = parse_signatures(signature)?;
    let timestamp = timestamp.map(str::trim);
    if let Some(ts) = timestamp {
        let ts: i64 = ts.parse().map_err(|_| VerifyError::MalformedTimestamp)?;
        let skew = now_unix.saturating_sub(ts);
        if skew.saturating_abs() > tolerance_secs {
            return Err(VerifyError::StaleTimestamp { skew_secs: skew });
        }
    }
    // One MAC per secret and scheme; each given signature is checked against a clone with
    // `verify_slice`, which compares in constant time.
    let matches = |secret: &SigningSecret, ts: Option<&str>| {
        let mac = mac_over(secret, ts, body);
        given
            .iter()
            .fold(false, |ok, sig| ok | mac.clone().verify_slice(sig).is_ok())
    };
    let body_signed = secrets.iter().fold(false, |ok, s| ok | matches(s, None));
    let ts_signed = timestamp.is_some_and(|ts| secrets.iter().fold(false, |ok, s| ok | matches(s, Some(ts))));
    // A body-only signature replays under any timestamp: it is the weaker claim, so it wins.
    match (body_signed, ts_signed) {
        (true, _) => Ok(Verified {
            scheme: SignatureScheme::Body,
        }),
        (false, true) => Ok(Verified {
            scheme: SignatureScheme::Timestamped,
        }),
        (false, false) => Err(VerifyError::Mismatch),
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"event_type":"alerts.triggered"}"#;
    const BODY_SIGNED: Verified = Verified {
        scheme: SignatureScheme::Body,
    };

    fn secret() -> SigningSecret {
        SigningSecret::new("whsec_test")
    }

    #[test]
    fn shared_vector_of_polyai_api_md_6_4() {
        assert_eq!(
            sign(&secret(), SignatureScheme::Timestamped, 1_700_000_000, BODY),
            "38eab2e065054f682222961b18c18f318e0a6f98a1fc8b1671499b6c15c8e1c2"
        );
    }

    #[test]
    fn body_scheme_vector() {
        // python3 -c "import hmac,hashlib; print(hmac.new(b'whsec_test',
        //   b'{\"event_type\":\"alerts.triggered\"}', hashlib.sha256).hexdigest())"
        assert_eq!(
            sign(&secret(), SignatureScheme::Body, 1_700_000_000, BODY),
            "34af6f0fb58aa0ca2b319f80040109203360971739aa031b6b07b4ef1b25c800"
        );
    }

    #[test]
    fn either_scheme_verifies_and_tampering_fails() {
        let now = 1_700_000_010;
        for scheme in [SignatureScheme::Body, SignatureScheme::Timestamped] {
            let sig = sign(&secret(), scheme, 1_700_000_000, BODY);
            let ok = verify(&[secret()], Some(&sig), Some("1700000000"), BODY, now, 300);
            assert_eq!(ok, Ok(Verified { scheme }), "{scheme:?}");
            let tampered = verify(
                &[secret()],
                Some(&sig),
                Some("1700000000"),
                br#"{"event_type":"alerts.resolved"}"#,
                now,
                300,
            );
            assert_eq!(tampered, Err(VerifyError::Mismatch), "{scheme:?}");
        }
        // The timestamped scheme binds the timestamp: another one in the header fails.
        let sig = sign(&secret(), SignatureScheme::Timestamped, 1_700_000_000, BODY);
        assert_eq!(
            verify(&[secret()], Some(&sig), Some("1700000001"), BODY, now, 300),
            Err(VerifyError::Mismatch)
        );
        // The body scheme works without a timestamp header at all.
        let sig = sign(&secret(), SignatureScheme::Body, 0, BODY);
        assert_eq!(verify(&[secret()], Some(&sig), None, BODY, now, 300), Ok(BODY_SIGNED));
    }

    #[test]
    fn rotation_accepts_any_listed_secret_and_refuses_others() {
        let old = SigningSecret::new("whsec_old");
        let new = SigningSecret::new("whsec_new");
        let sig = sign(&new, SignatureScheme::Body, 0, BODY);
        assert_eq!(
            verify(&[old.clone(), new], Some(&sig), None, BODY, 0, 300),
            Ok(BODY_SIGNED)
        );
        assert_eq!(
            verify(&[old], Some(&sig), None, BODY, 0, 300),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn stale_missing_and_malformed_inputs_are_refused() {
        let sig = sign(&secret(), SignatureScheme::Timestamped, 1_700_000_000, BODY);
        let check = |sig: Option<&str>, ts: Option<&str>, now: i64| verify(&[secret()], sig, ts, BODY, now, 300);
        assert_eq!(
            check(Some(&sig), Some("1700000000"), 1_700_000_301),
            Err(VerifyError::StaleTimestamp { skew_secs: 301 })
        );
        assert_eq!(
            check(Some(&sig), Some("1700000000"), 1_699_999_699),
            Err(VerifyError::StaleTimestamp { skew_secs: -301 })
        );
        assert_eq!(
            check(Some(&sig), Some("1700000000"), 1_700_000_300),
            Ok(Verified {
                scheme: SignatureScheme::Timestamped
            })
        );
        assert_eq!(check(None, None, 0), Err(VerifyError::MissingSignature));
        assert_eq!(check(Some("zz"), None, 0), Err(VerifyError::MalformedSignature));
        assert_eq!(check(Some(&sig[..62]), None, 0), Err(VerifyError::MalformedSignature));
        assert_eq!(
            check(Some(&sig), Some("yesterday"), 0),
            Err(VerifyError::MalformedTimestamp)
        );
    }

    #[test]
    fn prefixed_and_comma_separated_signatures_are_accepted() {
        let sig = sign(&secret(), SignatureScheme::Body, 0, BODY);
        let other = sign(&SigningSecret::new("whsec_other"), SignatureScheme::Body, 0, BODY);
        let check = |header: &str| verify(&[secret()], Some(header), None, BODY, 0, 300);
        for header in [
            format!("sha256={sig}"),
            format!("SHA256={sig}"),
            format!("{other},{sig}"),
            format!("sha256={other}, sha256={sig}"),
            format!("{sig} , not-hex"),
        ] {
            assert_eq!(check(&header), Ok(BODY_SIGNED), "{header}");
        }
        // Only when none of several matches is the delivery refused.
        assert_eq!(check(&format!("{other},sha256={other}")), Err(VerifyError::Mismatch));
        assert_eq!(check("sha256=zz, ,"), Err(VerifyError::MalformedSignature));
        assert_eq!(check(&[sig.as_str(); 9].join(",")), Err(VerifyError::TooManySignatures));
    }

    #[test]
    fn a_signature_over_the_body_alone_is_reported_as_such() {
        // The dedupe key depends on it: a body-only signature is valid under any timestamp.
        let ts = sign(&secret(), SignatureScheme::Timestamped, 1_700_000_000, BODY);
        let body = sign(&secret(), SignatureScheme::Body, 1_700_000_000, BODY);
        let both = format!("{ts},{body}");
        for (header, scheme) in [
            (ts, SignatureScheme::Timestamped),
            (body, SignatureScheme::Body),
            (both, SignatureScheme::Body),
        ] {
            let got = verify(&[secret()], Some(&header), Some("1700000000"), BODY, 1_700_000_000, 300);
            assert_eq!(got, Ok(Verified { scheme }), "{header}");
        }
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        assert!(!format!("{:?}", secret()).contains("whsec_test"));
    }
}
