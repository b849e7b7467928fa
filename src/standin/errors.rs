//! The API's error envelope and correlation ids.
//!
//! Every error is `{success:false, error, error_id, error_code, error_message, data:null}` with the
//! same id in the `X-PolyAI-Correlation-Id` header, as the reference error page documents.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::rng::mix;

pub const CORRELATION_HEADER: &str = "x-polyai-correlation-id";

/// A fresh UUID-shaped correlation id (unique per process; not a secret).
pub fn correlation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt = std::process::id() as u64;
    let a = mix(n ^ (salt << 32));
    let b = mix(a ^ n);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// An API error answer.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for `Retry-After` (429 only).
    pub retry_after: Option<u64>,
    /// Extra headers (e.g. `Content-Range` on 416).
    pub content_range: Option<String>,
}

impl ApiFailure {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiFailure {
            status,
            code,
            message: message.into(),
            retry_after: None,
            content_range: None,
        }
    }

    /// 400 `CONVERSATIONS_VALIDATION_FAILED`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "CONVERSATIONS_VALIDATION_FAILED", message)
    }

    /// A route this host does not serve: a bare `NOT_FOUND`, as a host of the other family answers.
    /// The blocking task that builds a page failed (it panicked or was cancelled).
    pub fn page_not_built() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "The page could not be built.",
        )
    }

    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "No route matches this path on this host.",
        )
    }

    pub fn conversation_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "CONVERSATIONS_NOT_FOUND",
            format!("Conversation ID does not exist: {}.", super::sanitize_echo(id)),
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let id = correlation_id();
        let body = serde_json::json!({
            "success": false,
            "error": self.message,
            "error_id": id,
            "error_code": self.code,
            "error_message": self.message,
            "data": null,
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&id) {
            h.insert(CORRELATION_HEADER, v);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(range) = self.content_range.and_then(|r| HeaderValue::from_str(&r).ok()) {
            h.insert(header::CONTENT_RANGE, range);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_unique() {
        let a = correlation_id();
        let b = correlation_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
