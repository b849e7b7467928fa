//! `x-api-key` authentication, project scoping (401/403/404) and the per-key rate limit (429).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::data::DatasetHandle;
use super::errors::ApiFailure;
use super::state::SharedState;

/// A project the stand-in knows, with the key provisioned for it.
#[derive(Debug, Clone)]
pub struct Project {
    pub account_id: String,
    pub project_id: String,
    pub api_key: String,
    pub data: DatasetHandle,
}

/// Who made the request: the project their key is provisioned for. Added to the request's
/// extensions by `require_key`, so handlers (including merged ones) can read it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub project_id: String,
}

/// Constant-time comparison, so response timing does not reveal how much of a key matched.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Middleware: 401 without a valid key, 429 over the rate limit; never logs the key.
pub async fn require_key(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let project = match given {
        None | Some("") => {
            return ApiFailure::new(
                StatusCode::UNAUTHORIZED,
                "AUTH_USER_UNAUTHORISED",
                "Missing x-api-key header.",
            )
            .into_response();
        }
        Some(k) => state.projects.iter().find(|p| same(&p.api_key, k)),
    };
    let Some(project) = project else {
        return ApiFailure::new(StatusCode::UNAUTHORIZED, "AUTH_USER_UNAUTHORISED", "Invalid API key.").into_response();
    };
    if let Err(wait) = state.limiter.check(&project.project_id) {
        let mut f = ApiFailure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!("Rate limit exceeded. Retry after {wait} second(s)."),
        );
        f.retry_after = Some(wait);
        return f.into_response();
    }
    req.extensions_mut().insert(Caller {
        account_id: project.account_id.clone(),
        project_id: project.project_id.clone(),
    });
    next.run(req).await
}

/// The project named by a path, checked against the caller: 404 if unknown, 403 if the key
/// belongs to another project. `account` is `None` on paths without one (`/v1/agents/...`).
pub fn project_for<'a>(
    state: &'a SharedState,
    caller: &Caller,
    account: Option<&str>,
    project: &str,
) -> Result<&'a Project, ApiFailure> {
    let found = state
        .projects
        .iter()
        .find(|p| p.project_id == project && account.is_none_or(|a| a == p.account_id));
    let Some(found) = found else {
        // As the real API's error codes: an account nobody has is ACCOUNT_NOT_FOUND (1002).
        if let Some(a) = account.filter(|a| !state.projects.iter().any(|p| p.account_id == *a)) {
            return Err(ApiFailure::new(
                StatusCode::NOT_FOUND,
                "ACCOUNT_NOT_FOUND",
                format!("Account {} does not exist.", super::sanitize_echo(a)),
            ));
        }
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "PROJECT_NOT_FOUND",
            format!(
                "Project {} does not exist in account {}.",
                super::sanitize_echo(project),
                super::sanitize_echo(account.unwrap_or(&caller.account_id))
            ),
        ));
    };
    if found.project_id != caller.project_id || found.account_id != caller.account_id {
        return Err(ApiFailure::new(
            StatusCode::FORBIDDEN,
            "ACCOUNT_INSUFFICIENT_PERMISSIONS",
            "This API key is not provisioned for this project.",
        ));
    }
    Ok(found)
}

/// Token bucket per key: `rate` tokens per second, burst of `rate`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second; 0 disables the limit.
    pub fn new(rate: u32) -> Arc<Self> {
        Arc::new(RateLimiter {
            rate: rate as f64,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// `Err(seconds to wait)` when `who` is over the limit.
    pub fn check(&self, who: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(who.to_string()).or_insert((self.rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - *tokens) / self.rate).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let l = RateLimiter::new(3);
        assert!((0..3).all(|_| l.check("a").is_ok()));
        assert_eq!(l.check("a"), Err(1));
        assert!(l.check("b").is_ok(), "buckets are per key");
        assert!(RateLimiter::new(0).check("a").is_ok());
    }

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
    }
}
