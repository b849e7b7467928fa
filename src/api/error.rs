//! API errors, each with a one-line diagnosis from the quickstart's troubleshooting table.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Which host family a request went to: it decides what a 404 most likely means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFamily {
    /// `api.{region}-1.platform.polyai.app`: conversations.
    Runtime,
    /// `api.{region}.poly.ai`: webhooks, agents.
    Platform,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// 401: missing or wrong key (or a key from another region).
    Unauthorized,
    /// 403: valid key without permission for this project.
    Forbidden,
    /// 404 whose body says the resource (conversation, recording) does not exist.
    NotFound,
    /// 404 from a host that does not serve this route: wrong host family or region.
    WrongHost,
    /// 429 after the retries ran out.
    RateLimited,
    /// 400: the request was refused as invalid (bad cursor, limit, time range).
    BadRequest,
    /// 5xx after the retries ran out.
    Server,
    /// Could not connect (DNS, refused, TLS) after the retries ran out.
    Network,
    /// No answer in time after the retries ran out.
    Timeout,
    /// An answer that is not the expected JSON (or a broken body).
    Malformed,
    /// A 3xx: not followed, so the key never goes to a host other than the configured one.
    Redirected,
    /// A JSON answer bigger than `max_page_bytes`: not read further.
    TooLarge,
    /// A cursor walk was handed a cursor it had already followed: stopped, not looped.
    CursorRepeated,
    /// Any other status.
    Other,
}

/// An error from the API, with enough context to tell the user what to do.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// `error_code` from the error envelope (e.g. `CONVERSATIONS_NOT_FOUND`).
    pub code: Option<String>,
    /// The server's message, or the transport error.
    pub message: String,
    /// `X-PolyAI-Correlation-Id` (or the envelope's `error_id`): quote it to PolyAI support.
    pub correlation_id: Option<String>,
    pub family: HostFamily,
    /// The host that answered (never with credentials; the key is never in a URL).
    pub host: String,
}

/// The error body: the current 6-field envelope, or the older `{"error_message": …}`,
/// or `{"message": …}`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorEnvelope {
    pub error: Option<serde_json::Value>,
    pub error_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub message: Option<String>,
}

impl ErrorEnvelope {
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn text(&self) -> Option<String> {
        self.error_message
            .clone()
            .or_else(|| match &self.error {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Object(o)) => o.get("message").and_then(|m| m.as_str()).map(str::to_string),
                _ => None,
            })
            .or_else(|| self.message.clone())
            .filter(|s| !s.is_empty())
    }
}

/// Which configured id a 404 says does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongId {
    /// `PROJECT_NOT_FOUND`: the project, looked up in the account, is not there; either id may be wrong.
    Project,
    /// `ACCOUNT_NOT_FOUND`: no such account.
    Account,
}

/// Where both ids are read from, for the diagnoses that say one is wrong.
const STUDIO_URL: &str = "https://studio.{region}.poly.ai/{account_id}/{project_id}/agent";

impl ApiError {
    /// The configured id a 404 names as missing, from its error code or, without one, from the
    /// server's words (`Project "…" does not exist in account "…"`).
    pub fn wrong_id(&self) -> Option<WrongId> {
        if self.status != Some(404) {
            return None;
        }
        match self.code.as_deref() {
            Some("PROJECT_NOT_FOUND") => return Some(WrongId::Project),
            Some("ACCOUNT_NOT_FOUND") => return Some(WrongId::Account),
            Some(_) => return None,
            None => {}
        }
        let m = self.message.to_ascii_lowercase();
        if !m.contains("does not exist") && !m.contains("not found") {
            None
        } else if m.starts_with("project") {
            Some(WrongId::Project)
        } else if m.starts_with("account") || m.starts_with("workspace") {
            Some(WrongId::Account)
        } else {
            None
        }
    }

    /// Builds the error for a non-success HTTP answer.
    pub fn from_response(
        status: u16,
        body: &[u8],
        correlation_id: Option<String>,
        family: HostFamily,
        host: &str,
    ) -> Self {
        let envelope = ErrorEnvelope::parse(body);
        let code = envelope.error_code.clone().filter(|c| !c.is_empty());
        let kind = match status {
            400 | 422 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            // A real "not found" names what is missing; a bare 404 is a route the host lacks.
            404 if code
                .as_deref()
                .is_some_and(|c| c.contains("NOT_FOUND") && c != "NOT_FOUND") =>
            {
                ErrorKind::NotFound
            }
            404 => ErrorKind::WrongHost,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Other,
        };
        let message = envelope.text().unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
            if raw.is_empty() { format!("HTTP {status}") } else { raw }
        });
        ApiError {
            kind,
            status: Some(status),
            code,
            message,
            correlation_id: correlation_id.or(envelope.error_id),
            family,
            host: host.to_string(),
        }
    }

    pub fn transport(kind: ErrorKind, message: impl Into<String>, family: HostFamily, host: &str) -> Self {
        ApiError {
            kind,
            status: None,
            code: None,
            message: message.into(),
            correlation_id: None,
            family,
            host: host.into(),
        }
    }

    /// Worth another try: rate limits, server errors, timeouts and network trouble.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout
        )
    }

    /// What is most likely wrong and how to fix it, from the quickstart's troubleshooting table.
    pub fn diagnosis(&self) -> String {
        let runtime_looks_platform = self.host.contains(".poly.ai") && !self.host.contains("platform.polyai.app");
        let platform_looks_runtime = self.host.contains("platform.polyai.app");
        match self.wrong_id() {
            Some(WrongId::Project) => {
                return format!(
                    "The project id or the account id is wrong: both are in the Agent Studio URL, {STUDIO_URL} (account ws-… or its slug, project PROJECT-… or its slug). Check POLYAI_ACCOUNT_ID and POLYAI_PROJECT_ID (or --account-id/--project-id)."
                );
            }
            Some(WrongId::Account) => {
                return format!(
                    "The account id is wrong: it is the first segment after the host in the Agent Studio URL, {STUDIO_URL} (ws-… or its slug; not ACCOUNT-…). Check POLYAI_ACCOUNT_ID (or --account-id)."
                );
            }
            None => {}
        }
        match (&self.kind, self.family) {
            (ErrorKind::Unauthorized, _) => "Missing or wrong x-api-key, or key revoked (or issued for another region). Check POLYAI_API_KEY is set; ask PolyAI to confirm the key is active.".into(),
            (ErrorKind::Forbidden, _) => "The key is valid but lacks permission for this project or scope. Confirm the key was provisioned for the project ID in the URL (POLYAI_PROJECT_ID).".into(),
            (ErrorKind::WrongHost, HostFamily::Runtime) => format!(
                "Wrong base URL for conversations{}: use the platform.polyai.app host with the regional -1 suffix (e.g. https://api.us-1.platform.polyai.app) in POLYAI_BASE_URL, and check POLYAI_ACCOUNT_ID/POLYAI_PROJECT_ID.",
                if runtime_looks_platform { " (this is the api.{region}.poly.ai webhooks host)" } else { "" }
            ),
            (ErrorKind::WrongHost, HostFamily::Platform) => format!(
                "Wrong host for webhooks{}: they live on api.{{region}}.poly.ai (no -1), e.g. POLYAI_PLATFORM_URL=https://api.us.poly.ai.",
                if platform_looks_runtime { " (this is the runtime platform.polyai.app host)" } else { "" }
            ),
            (ErrorKind::NotFound, _) if self.code.as_deref() == Some("CONVERSATIONS_RECORDING_NOT_FOUND") => "No recording for this conversation: only finished voice calls (VOICE-SIP) have one; chat conversations and calls still in progress return 404 here.".into(),
            (ErrorKind::NotFound, _) => "Not found: the id does not exist in this project and environment.".into(),
            (ErrorKind::RateLimited, _) => "Rate limit hit (429). Back off using Retry-After; prefer cursor pagination with a larger limit for large pulls.".into(),
            (ErrorKind::BadRequest, _) => "The request was refused as invalid (malformed cursor, limit outside 1–1000, or a bad time range).".into(),
            (ErrorKind::Server, _) => "PolyAI's server failed; retried with backoff. Try again later; quote the correlation id to PolyAI if it persists.".into(),
            (ErrorKind::Network, _) => format!("Cannot reach {}: check the base URL and region (us, uk, euw) and your network.", self.host),
            (ErrorKind::Timeout, _) => format!("{} did not answer in time; retried with backoff. Check your network or try again.", self.host),
            (ErrorKind::Malformed, _) => "The server's answer was not the expected JSON; is the base URL really a PolyAI API host?".into(),
            (ErrorKind::Redirected, _) => "callscope follows no redirects, so the API key only ever goes to the configured host. If the new host is the right one, configure it directly.".into(),
            (ErrorKind::TooLarge, _) => "Pages are read into memory, so their size is capped. A smaller page size (--page-size) or time window gives smaller pages.".into(),
            (ErrorKind::CursorRepeated, _) => "The API's pagination went round in a circle, so the walk was stopped instead of running forever. Try a narrower time window; report it to PolyAI if it persists.".into(),
            (ErrorKind::Other, _) => "Unexpected answer from the API.".into(),
        }
    }

    /// Whether `message` is callscope's own account of what happened (not the server's words):
    /// then it leads the headline.
    fn message_is_ours(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Redirected | ErrorKind::TooLarge | ErrorKind::CursorRepeated | ErrorKind::Timeout
        ) && !self.message.is_empty()
    }

    /// Whether the headline quotes the server's message: when it names the wrong id, it is
    /// the most exact account of what to fix.
    fn headline_quotes_server(&self) -> bool {
        self.wrong_id().is_some() && !self.message.is_empty()
    }

    /// A one-line summary for status bars: `401 Unauthorized — <diagnosis>`, or with the
    /// server's words when they name a wrong id: `404 Not Found: Project "P" does not exist … — <diagnosis>`.
    pub fn headline(&self) -> String {
        let what = match (self.status, &self.kind) {
            _ if self.message_is_ours() => self.message.clone(),
            (Some(s), _) if self.headline_quotes_server() => {
                format!(
                    "{s} {}: {}",
                    reason_phrase(s),
                    shown(self.message.trim().trim_end_matches('.'))
                )
            }
            (Some(s), _) => format!("{s} {}", reason_phrase(s)),
            (None, ErrorKind::Timeout) => "timeout".into(),
            (None, ErrorKind::Malformed) => "malformed answer".into(),
            (None, _) => "network error".into(),
        };
        format!("{what} — {}", self.diagnosis())
    }

    /// The headline with the correlation id (the server's, else the one callscope sent), for
    /// status lines: a support ticket can quote it.
    pub fn headline_with_id(&self) -> String {
        match &self.correlation_id {
            Some(id) => format!("{} · correlation id {}", self.headline(), shown(id)),
            None => self.headline(),
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Server text (message, code, correlation id) as shown: one line, no escape sequences.
fn shown(s: &str) -> String {
    crate::sanitize::sanitize_line(s)
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", shown(&self.headline()))?;
        if !self.message.is_empty() && !self.message_is_ours() && !self.headline_quotes_server() {
            write!(f, "\n  server said: {}", shown(&self.message))?;
        }
        if let Some(code) = &self.code {
            write!(f, " [{}]", shown(code))?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, "\n  correlation id: {}", shown(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Parses `Retry-After`: delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO).min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shapes_and_kinds() {
        let e = ApiError::from_response(
            404,
            br#"{"success":false,"error":"Conversation ID does not exist.","error_id":"abc","error_code":"CONVERSATIONS_NOT_FOUND","error_message":"Conversation ID does not exist.","data":null}"#,
            None,
            HostFamily::Runtime,
            "api.us-1.platform.polyai.app",
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.correlation_id.as_deref(), Some("abc"));
        let e = ApiError::from_response(404, b"", None, HostFamily::Runtime, "api.us.poly.ai");
        assert_eq!(e.kind, ErrorKind::WrongHost);
        assert!(e.diagnosis().contains("-1 suffix"), "{}", e.diagnosis());
        let e = ApiError::from_response(
            401,
            br#"{"error_message":"bad key"}"#,
            Some("cid".into()),
            HostFamily::Runtime,
            "h",
        );
        assert_eq!(e.message, "bad key");
        assert!(e.to_string().contains("cid") && e.to_string().contains("401 Unauthorized"));
    }

    #[test]
    fn a_wrong_project_or_account_is_diagnosed_as_such() {
        let project = ApiError::from_response(
            404,
            br#"{"error_code":"PROJECT_NOT_FOUND","error_message":"Project \"PROJECT-dmeo\" does not exist in account \"ws-demo\"."}"#,
            None,
            HostFamily::Runtime,
            "h",
        );
        let line = project.headline();
        assert!(
            line.starts_with(r#"404 Not Found: Project "PROJECT-dmeo" does not exist in account "ws-demo" — "#),
            "{line}"
        );
        assert!(
            line.contains("project id or the account id is wrong") && line.contains("studio."),
            "{line}"
        );
        assert!(
            !line.contains("does not exist in this project and environment"),
            "{line}"
        );
        assert!(!project.to_string().contains("server said"), "said once: {project}");
        let account = ApiError::from_response(
            404,
            br#"{"error_code":"ACCOUNT_NOT_FOUND","error_message":"Account \"ws-dmeo\" does not exist."}"#,
            None,
            HostFamily::Runtime,
            "h",
        );
        assert_eq!(account.wrong_id(), Some(WrongId::Account));
        assert!(
            account.headline().contains("account id is wrong"),
            "{}",
            account.headline()
        );
        // Without a code, the server's words decide; a conversation that is not there is not a wrong id.
        let bare = ApiError::from_response(
            404,
            br#"{"message":"Project p does not exist"}"#,
            None,
            HostFamily::Runtime,
            "h",
        );
        assert_eq!(bare.wrong_id(), Some(WrongId::Project));
        let conversation = ApiError::from_response(
            404,
            br#"{"error_code":"CONVERSATIONS_NOT_FOUND","error_message":"Conversation ID does not exist."}"#,
            None,
            HostFamily::Runtime,
            "h",
        );
        assert_eq!(conversation.wrong_id(), None);
        assert!(conversation.diagnosis().contains("does not exist in this project"));
    }

    #[test]
    fn display_carries_no_escape_sequences_from_the_server() {
        let e = ApiError::from_response(
            500,
            br#"{"error_message":"bad\u001b]52;c;ZXZpbA==\u0007 \u009b2J\nnext","error_code":"E\u001b[2J"}"#,
            Some("cid\u{1b}]0;title\u{7}\u{9b}31m".into()),
            HostFamily::Runtime,
            "h",
        );
        let text = e.to_string();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("server said: bad␛ ␛ next [E␛]"), "{text}");
        assert!(text.contains("correlation id: cid␛␛"), "{text}");
        assert_eq!(
            text.lines().count(),
            3,
            "a newline from the server does not start a line: {text}"
        );
    }

    #[test]
    fn retry_after_both_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 00:00:03 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
