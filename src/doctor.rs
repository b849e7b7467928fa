//! `callscope doctor`: the quickstart's step-1 smoke test, then each troubleshooting row it can check.
//! One line per check; exit status 1 when something is wrong.

use anyhow::Result;
use chrono::{Duration, Utc};

use crate::api::{ApiError, Client, ConversationPage, ErrorKind, ListQuery, PathFamily, Route, route_missing};
use crate::config::{CLIENT_ENVS, Config, ConnectionArgs, Region, process_env};

/// What `callscope doctor` checks.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
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

pub async fn run(args: DoctorOptions) -> Result<i32> {
    crate::logging::init_stderr();
    let cfg = Config::resolve(&args.conn, &process_env)?;
    let mut checks = diagnose(&cfg).await;
    if cfg.file.team.database.is_some() {
        checks.push(team_check(&cfg.file.team).await);
    }
    for c in &checks {
        crate::outln!("{}", c.line());
    }
    Ok(if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        1
    } else {
        0
    })
}

/// `[team]` is set: the database is reachable, the login works and the schema is this version's.
pub async fn team_check(section: &crate::team::TeamSection) -> Check {
    const NAME: &str = "team database";
    let team = match crate::team::Team::connect_unchecked(section, &process_env).await {
        Ok(t) => t,
        Err(e) => return Check::fail(NAME, format!("{e:#}")),
    };
    let tls = team
        .tls_state(section)
        .await
        .unwrap_or_else(|e| format!("TLS state unknown: {e:#}"));
    match team.version().await {
        Ok(v) => Check::ok(NAME, format!("connected; schema version {v}; {tls}")),
        Err(e) => Check::fail(NAME, format!("connected ({tls}), but {e:#}")),
    }
}

fn failure(name: &'static str, e: &ApiError) -> Check {
    let cid = e
        .correlation_id
        .as_ref()
        .map(|c| format!(" (correlation id {c})"))
        .unwrap_or_default();
    Check::fail(name, format!("{}{cid}", e.headline()))
}

/// Calls of the first page fetched by id when the list carries no turns (see the transcripts line).
const BY_ID_SAMPLES: usize = 3;

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
                format!(
                    "{} answered the step-1 smoke test",
                    match client.family_in_use(Route::List) {
                        Some(PathFamily::Agents) => client.platform_url().as_str().trim_end_matches('/'),
                        _ => cfg.base_url.as_str(),
                    }
                ),
            ));
            out.push(list_line(&client).await);
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
        // Some lists (the Data API's) carry no turns at all: then by-id decides.
        let mut by_id_turns = 0;
        if hidden == with_turns && with_turns > 0 {
            // A few calls, not one: a single call can have its own transcript hidden, which
            // alone does not mean visibility is off for the key.
            for c in first
                .conversations
                .iter()
                .filter(|c| c.transcript_hidden())
                .take(BY_ID_SAMPLES)
            {
                by_id_turns = client.conversation(&c.id).await.map_or(0, |c| c.turns.len());
                if by_id_turns > 0 {
                    break;
                }
            }
        }
        out.push(if by_id_turns > 0 {
            Check::ok(
                "transcripts",
                format!("the list's items carry no turns, but by-id does ({by_id_turns} turns in a sampled call)"),
            )
        } else if with_turns > 0 && hidden == with_turns {
            Check::fail("transcripts", "num_turns > 0 but turns is empty: transcript visibility is off — enable Conversation transcript under API Keys > Configuration in Agent Studio")
        } else if hidden > 0 {
            Check::warn("transcripts", format!("{hidden} of {with_turns} sampled calls have hidden transcripts (num_turns > 0, turns empty)"))
        } else {
            Check::ok("transcripts", format!("visible in {with_turns} sampled calls"))
        });
    }
    out.extend(probe_conversation_routes(&client, &first).await);
    out.push(check_webhooks(&client).await);
    out
}

/// `list`: which family listed, and the total where the Data API gives one.
async fn list_line(client: &Client) -> Check {
    match client.family_in_use(Route::List) {
        Some(PathFamily::Agents) => {
            let total = match client.data_list_page(1, 0).await {
                Ok((_, Some(n))) => format!(", {n} conversations in total"),
                _ => String::new(),
            };
            Check::warn(
                "list",
                format!(
                    "Data API (/v1/agents/{{project}}/conversations on {}){total}: the v3 list route is missing on {} — paged by offset, searched and sampled locally only; set POLYAI_BASE_URL to the runtime host, api.{{region}}-1.platform.polyai.app (the -1 suffix), for the v3 list",
                    client.platform_url().as_str().trim_end_matches('/'),
                    client.base_url().as_str().trim_end_matches('/'),
                ),
            )
        }
        _ => Check::ok("list", format!("{} (cursor paging)", PathFamily::V3.describe())),
    }
}

/// How one family answered a probe, in a few words.
fn answer(family: PathFamily, client: &Client, r: &Result<(), ApiError>) -> String {
    let host = match family {
        PathFamily::V3 => client.base_url(),
        PathFamily::Agents => client.platform_url(),
    };
    let host = host.as_str().trim_end_matches('/');
    let name = match family {
        PathFamily::V3 => "v3",
        PathFamily::Agents => "platform",
    };
    match r {
        Ok(()) => format!("{name} on {host} answers"),
        Err(e) if route_missing(e) => format!("{name} route missing on {host}"),
        Err(e) => format!(
            "{name} on {host}: {}",
            e.status.map_or("no answer".to_string(), |s| format!("HTTP {s}"))
        ),
    }
}

/// One line per route: tries the v3 and the platform family for by-id and audio, says which
/// one callscope uses, and when neither works which one is broken and what to set.
async fn probe_conversation_routes(client: &Client, page: &ConversationPage) -> Vec<Check> {
    let Some(any) = page.conversations.first() else {
        return vec![Check::warn(
            "by-id / audio",
            "no call in the last 24h to probe with: by-id and audio not checked",
        )];
    };
    let mut by_id = Vec::new();
    for f in [PathFamily::V3, PathFamily::Agents] {
        by_id.push((f, client.conversation_on(f, &any.id).await.map(drop)));
    }
    let mut out = vec![route_line("by-id", client, &any.id, &by_id)];
    match page
        .conversations
        .iter()
        .find(|c| crate::api::model::is_voice_channel(&c.channel) && !c.in_progress)
    {
        Some(call) => {
            let mut audio = Vec::new();
            for f in [PathFamily::V3, PathFamily::Agents] {
                audio.push((f, client.audio_on(f, &call.id).await.map(drop)));
            }
            out.push(route_line("audio", client, &call.id, &audio));
        }
        None => out.push(Check::warn(
            "audio",
            "no finished voice call in the last 24h to probe with: audio not checked",
        )),
    }
    out
}

fn route_line(name: &'static str, client: &Client, id: &str, answers: &[(PathFamily, Result<(), ApiError>)]) -> Check {
    let said: Vec<String> = answers.iter().map(|(f, r)| answer(*f, client, r)).collect();
    let said = said.join("; ");
    if let Some((f, _)) = answers.iter().find(|(_, r)| r.is_ok()) {
        let other = answers.iter().find(|(g, _)| g != f);
        let note = match other {
            Some((_, Err(_))) => format!(" ({said})"),
            _ => String::new(),
        };
        return Check::ok(name, format!("family in use: {}{note}", f.describe()));
    }
    // Neither answered: say which is broken and what to set.
    let errs: Vec<&ApiError> = answers.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    if errs.iter().all(|e| route_missing(e)) {
        return Check::fail(
            name,
            format!(
                "neither family serves it ({said}): set POLYAI_PLATFORM_URL (or --region) to api.{{region}}.poly.ai for the platform family, or POLYAI_BASE_URL to api.{{region}}-1.platform.polyai.app for v3"
            ),
        );
    }
    if let Some(e) = errs.iter().find(|e| e.kind == ErrorKind::NotFound) {
        return Check::fail(
            name,
            format!(
                "{id} (from the list) was not found ({said}): {} — the list and {name} may be on different regions or projects; check POLYAI_PLATFORM_URL / --region and POLYAI_PROJECT_ID",
                e.headline()
            ),
        );
    }
    let e = errs.iter().find(|e| !route_missing(e)).copied().unwrap_or(errs[0]);
    let mut check = failure(name, e);
    check.detail = format!("{said} — {}", check.detail);
    check
}

async fn check_webhooks(client: &Client) -> Check {
    // The reference's route, else the quickstart's: whichever this host serves.
    match crate::webhook::endpoints::Endpoints::new(client).list().await {
        Ok((family, endpoints)) => Check::ok(
            "webhooks host",
            format!(
                "{} answered on {} ({} endpoints registered)",
                client.platform_url().as_str().trim_end_matches('/'),
                family.path(),
                endpoints.len()
            ),
        ),
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
