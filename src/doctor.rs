//! `callscope doctor`: the quickstart's step-1 smoke test, then each troubleshooting row it can check.
//! One line per check; exit status 1 when something is wrong.

use anyhow::Result;
use chrono::{Duration, Utc};

use crate::api::{ApiError, Client, ErrorKind, HostFamily, ListQuery};
use crate::config::{CLIENT_ENVS, Config, ConnectionArgs, Region, process_env};

#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Works, but worth knowing.
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub verdict: Verdict,
    pub name: &'static str,
    pub detail: String,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            verdict: Verdict::Ok,
            name,
            detail: detail.into(),
        }
    }
    fn warn(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            verdict: Verdict::Warn,
            name,
            detail: detail.into(),
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            verdict: Verdict::Fail,
            name,
            detail: detail.into(),
        }
    }
    pub fn line(&self) -> String {
        let mark = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        format!("{mark} {:<22} {}", self.name, self.detail)
    }
}

pub async fn run(args: DoctorArgs) -> Result<i32> {
    crate::logging::init_stderr();
    let cfg = Config::resolve(&args.conn, &process_env)?;
    let checks = diagnose(&cfg).await;
    for c in &checks {
        crate::outln!("{}", c.line());
    }
    Ok(if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        1
    } else {
        0
    })
}

fn failure(name: &'static str, e: &ApiError) -> Check {
    let cid = e
        .correlation_id
        .as_ref()
        .map(|c| format!(" (correlation id {c})"))
        .unwrap_or_default();
    Check::fail(name, format!("{}{cid}", e.headline()))
}

/// Runs every check it can; stops early only where later checks cannot mean anything.
pub async fn diagnose(cfg: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    // Configuration present.
    let mut missing = Vec::new();
    if cfg.api_key.is_none() {
        missing.push("POLYAI_API_KEY");
    }
    if cfg.account_id.is_empty() {
        missing.push("POLYAI_ACCOUNT_ID");
    }
    if cfg.project_id.is_empty() {
        missing.push("POLYAI_PROJECT_ID");
    }
    if missing.is_empty() {
        out.push(Check::ok(
            "configuration",
            format!(
                "account {} · project {} · client_env {}",
                cfg.account_id, cfg.project_id, cfg.client_env
            ),
        ));
    } else {
        let (verb, pronoun) = if missing.len() == 1 {
            ("is", "it")
        } else {
            ("are", "them")
        };
        out.push(Check::fail(
            "configuration",
            format!(
                "{} {verb} not set: export {pronoun} as in the quickstart's step \"Set environment variables\"",
                crate::config::and_list(&missing)
            ),
        ));
        return out;
    }
    if cfg.account_id.starts_with("ACCOUNT-") {
        out.push(Check::warn(
            "account id",
            "the workspace prefix is ws-, not ACCOUNT- (take it from the Agent Studio URL)",
        ));
    }
    // Host families, from the URLs alone.
    let runtime_is_platform = cfg.base_url.contains(".poly.ai") && !cfg.base_url.contains("platform.polyai.app");
    if runtime_is_platform {
        out.push(Check::fail(
            "base URL family",
            format!("POLYAI_BASE_URL={} is the webhooks/agents host; conversations live on api.{{region}}-1.platform.polyai.app", cfg.base_url),
        ));
    }
    if cfg.platform_url.contains("platform.polyai.app") {
        out.push(Check::fail(
            "webhooks URL family",
            format!(
                "POLYAI_PLATFORM_URL={} is the runtime host; webhooks live on api.{{region}}.poly.ai (no -1)",
                cfg.platform_url
            ),
        ));
    }
    let (rr, pr) = (Region::of_url(&cfg.base_url), Region::of_url(&cfg.platform_url));
    if let (Some(r), Some(p)) = (rr, pr)
        && r != p
    {
        out.push(Check::warn(
            "regions",
            format!(
                "base URL is {} but platform URL is {}: a key works in one region only",
                r.name(),
                p.name()
            ),
        ));
    }
    let client = match Client::new(cfg) {
        Ok(c) => c.with_retry_policy(crate::api::RetryPolicy {
            max_retries: 2,
            ..Default::default()
        }),
        Err(e) => {
            out.push(Check::fail("base URL", format!("{e:#}")));
            return out;
        }
    };
    // Step 1: the smoke test, for the configured environment.
    let end = Utc::now();
    let start = end - Duration::hours(24);
    let window = |env: &str, limit| ListQuery {
        start_time: Some(start),
        end_time: Some(end),
        limit: Some(limit),
        client_env: Some(env.to_string()),
        ..Default::default()
    };
    let first = match client.list_page(&window(&cfg.client_env, 20)).await {
        Ok(page) => {
            out.push(Check::ok(
                "key and host",
                format!("{} answered the step-1 smoke test", cfg.base_url),
            ));
            page
        }
        Err(e) => {
            let name = match e.kind {
                _ if e.wrong_id().is_some() => "account / project id",
                ErrorKind::Unauthorized => "API key",
                ErrorKind::Forbidden => "key permission",
                ErrorKind::WrongHost => "base URL / region",
                ErrorKind::RateLimited => "rate limit",
                _ => "smoke test",
            };
            out.push(failure(name, &e));
            out.push(check_webhooks(&client).await);
            return out;
        }
    };
    // Data in the window for this client_env; if none, say where there is some.
    if first.conversations.is_empty() {
        let mut elsewhere = Vec::new();
        for env in CLIENT_ENVS.iter().filter(|e| **e != cfg.client_env) {
            if let Ok(p) = client.list_page(&window(env, 1)).await
                && !p.conversations.is_empty()
            {
                elsewhere.push(*env);
            }
        }
        out.push(if elsewhere.is_empty() {
            Check::warn(
                "calls in last 24h",
                format!(
                    "none for client_env={} (nor other envs): place a test call or widen the window",
                    cfg.client_env
                ),
            )
        } else {
            Check::fail(
                "client_env",
                format!(
                    "no {} calls in the last 24h but {} has some: set client_env (e.g. `--env {}` or `e` in the TUI)",
                    cfg.client_env,
                    elsewhere.join(", "),
                    elsewhere[0]
                ),
            )
        });
    } else {
        let n = first.conversations.len();
        out.push(Check::ok(
            "calls in last 24h",
            format!(
                "{n}{} for client_env={}",
                if first.cursor.is_some() { "+" } else { "" },
                cfg.client_env
            ),
        ));
        let hidden = first.conversations.iter().filter(|c| c.transcript_hidden()).count();
        let with_turns = first.conversations.iter().filter(|c| c.turn_count() > 0).count();
        out.push(if with_turns > 0 && hidden == with_turns {
            Check::fail("transcripts", "num_turns > 0 but turns is empty: transcript visibility is off — enable Conversation transcript under API Keys > Configuration in Agent Studio")
        } else if hidden > 0 {
            Check::warn("transcripts", format!("{hidden} of {with_turns} sampled calls have hidden transcripts (num_turns > 0, turns empty)"))
        } else {
            Check::ok("transcripts", format!("visible in {with_turns} sampled calls"))
        });
    }
    out.push(check_webhooks(&client).await);
    out
}

async fn check_webhooks(client: &Client) -> Check {
    let url = client.url(HostFamily::Platform, &["v1", "webhook-endpoints"]);
    match client
        .request_json::<serde_json::Value>(reqwest::Method::GET, HostFamily::Platform, url, None)
        .await
    {
        Ok(v) => {
            let n = v.get("data").and_then(|d| d.as_array()).map(|a| a.len()).unwrap_or(0);
            Check::ok(
                "webhooks host",
                format!(
                    "{} answered ({n} endpoints registered)",
                    client.platform_url().as_str().trim_end_matches('/')
                ),
            )
        }
        Err(e) if e.kind == ErrorKind::Unauthorized || e.kind == ErrorKind::Forbidden => Check::warn(
            "webhooks host",
            format!(
                "{} reached, but the key was refused ({}): webhooks need a separate workspace-scoped key from developers@poly.ai",
                client.platform_url(),
                e.status.unwrap_or(0)
            ),
        ),
        Err(e) => failure("webhooks host", &e),
    }
}
