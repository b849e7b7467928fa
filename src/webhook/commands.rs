//! What `callscope webhooks register|list|delete|rotate` and `callscope listen` do, taking
//! plain options (the CLI parses the flags into them).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::endpoints::{Endpoints, Registration, RouteFamily, route_missing};
use super::receiver::{ReceiverConfig, receiver};
use super::signature::SigningSecret;
use crate::api::{ApiError, Client};
use crate::config::{Config, ConnectionArgs, process_env};

/// `callscope webhooks register`.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// Where PolyAI should POST events.
    pub url: String,
    /// Event types to subscribe to.
    pub events: Vec<String>,
    /// The endpoint's name (1–255 characters).
    pub name: String,
    /// The quickstart route's `description` (default: the name).
    pub description: Option<String>,
    /// Write the signing secret to this file (mode 600) instead of printing it.
    pub save_secret: Option<PathBuf>,
    pub conn: ConnectionArgs,
}

/// `callscope listen`.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub addr: SocketAddr,
    /// Path deliveries are posted to.
    pub path: String,
    /// File with the signing secret(s), one per line (besides POLYAI_WEBHOOK_SECRET).
    pub secret_file: Option<PathBuf>,
    /// Largest accepted body in bytes (larger → 413).
    pub max_body_bytes: usize,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            addr: ([127, 0, 0, 1], 8787).into(),
            path: "/polyai-events".into(),
            secret_file: None,
            max_body_bytes: 1 << 20,
        }
    }
}

fn connect(conn: &ConnectionArgs) -> Result<(Config, Client)> {
    let cfg = Config::resolve(conn, &process_env)?;
    cfg.require_complete()?;
    let client = Client::new(&cfg)?;
    Ok((cfg, client))
}

/// An API error with its diagnosis, as the user sees it.
fn explain(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub async fn register(a: RegisterOptions) -> Result<i32> {
    let (_, client) = connect(&a.conn)?;
    let name_len = a.name.chars().count();
    if !(1..=255).contains(&name_len) || a.name.trim().is_empty() {
        bail!("--name must be 1–255 characters (got {name_len})");
    }
    let reg = Registration {
        name: a.name.clone(),
        url: a.url.clone(),
        events: a.events.clone(),
        description: a.description.clone(),
    };
    let (family, resp) = match Endpoints::new(&client).create(&reg).await {
        Ok(r) => r,
        Err(e) if route_missing(&e) && !reg.fits_the_reference() => {
            bail!(
                "{}\n  note: the reference's /v1/webhook-endpoints documents only alerts.triggered and alerts.resolved;\n  other event types ({}) exist only on the quickstart's /v1/webhooks/endpoints, which this host does not serve",
                explain(e),
                other_events(&reg).join(", ")
            )
        }
        Err(e) => return Err(explain(e)),
    };
    let id = text_field(&resp, "id")?;
    let secret = text_field(&resp, "signing_secret")?;
    crate::outln!("registered webhook endpoint {}", printable(&id));
    crate::outln!("  url:    {}", printable(resp["url"].as_str().unwrap_or(&a.url)));
    crate::outln!(
        "  events: {}",
        a.events.iter().map(|e| printable(e)).collect::<Vec<_>>().join(", ")
    );
    crate::outln!("  route:  {}", family.path());
    if family == RouteFamily::Quickstart && !reg.fits_the_reference() {
        crate::errln!(
            "note: {} are not in the reference's event enum (alerts.*), so the quickstart's route was used",
            other_events(&reg).join(", ")
        );
    }
    show_secret(&secret, a.save_secret.as_deref())?;
    Ok(0)
}

fn other_events(reg: &Registration) -> Vec<String> {
    reg.events
        .iter()
        .filter(|e| !super::event::REFERENCE_EVENT_TYPES.contains(&e.as_str()))
        .map(|e| printable(e))
        .collect()
}

pub async fn list(conn: &ConnectionArgs) -> Result<i32> {
    let (_, client) = connect(conn)?;
    let (_, items) = Endpoints::new(&client).list().await.map_err(explain)?;
    if items.is_empty() {
        crate::outln!("no webhook endpoints registered");
    }
    for ep in items {
        let events: Vec<String> = ep.events.iter().map(|t| printable(t)).collect();
        crate::outln!(
            "{}  {}  {}  [{}]  {}",
            printable(&ep.id),
            if ep.enabled { "enabled" } else { "disabled" },
            printable(&ep.url),
            events.join(","),
            printable(&ep.name)
        );
    }
    Ok(0)
}

pub async fn delete(conn: &ConnectionArgs, id: &str) -> Result<i32> {
    let (_cfg, client) = connect(conn)?;
    check_id(id)?;
    Endpoints::new(&client)
        .delete(id)
        .await
        .map_err(|e| not_found_hint(e, id))?;
    crate::outln!("deleted webhook endpoint {id}");
    Ok(0)
}

pub async fn rotate(conn: &ConnectionArgs, id: &str, save_secret: Option<&Path>) -> Result<i32> {
    let (_, client) = connect(conn)?;
    check_id(id)?;
    let (_, resp) = Endpoints::new(&client)
        .rotate(id)
        .await
        .map_err(|e| not_found_hint(e, id))?;
    let secret = text_field(&resp, "signing_secret")?;
    crate::outln!("rotated the signing secret of {id}; the previous secret no longer verifies");
    show_secret(&secret, save_secret)?;
    Ok(0)
}

/// A 404 naming the endpoint: the id is wrong (the route exists, so no other family is tried).
fn not_found_hint(e: ApiError, id: &str) -> anyhow::Error {
    if e.kind == crate::api::ErrorKind::NotFound {
        anyhow::anyhow!("{e}\n  no webhook endpoint {id} on this account; see `callscope webhooks list`")
    } else {
        explain(e)
    }
}

/// One field of server text as one terminal-safe line (it is untrusted).
fn printable(s: &str) -> String {
    crate::sanitize::sanitize_line(s)
}

fn check_id(id: &str) -> Result<()> {
    if super::ids::is_valid_id(id) {
        Ok(())
    } else {
        bail!(
            "{id:?} is not a webhook endpoint id (expected whe_ followed by letters and digits; see `callscope webhooks list`)"
        )
    }
}

fn text_field(v: &Value, key: &str) -> Result<String> {
    match v.get(key).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => bail!("the server's answer has no {key:?}; is POLYAI_PLATFORM_URL a PolyAI webhooks host?"),
    }
}

/// The signing secret is shown exactly once (it cannot be fetched again): printed with a
/// warning, or written to a private file.
fn show_secret(secret: &str, save_to: Option<&Path>) -> Result<()> {
    match save_to {
        Some(path) => {
            write_private(path, secret)?;
            crate::outln!("  signing secret written to {} (mode 600)", path.display());
            crate::outln!("  use it with: callscope listen --secret-file {}", path.display());
        }
        None => {
            crate::outln!("  signing_secret: {}", printable(secret));
            crate::errln!(
                "warning: this signing secret is shown only once. Store it now (e.g. in a file for\n  `callscope listen --secret-file PATH`, or in POLYAI_WEBHOOK_SECRET); it is not your API key."
            );
        }
    }
    Ok(())
}

/// Writes the secret to a file that ends up mode 0600 whatever was there before: a new file is
/// created 0600 and renamed over the old one (see `fsutil`), so no moment exposes it.
fn write_private(path: &Path, secret: &str) -> Result<()> {
    let cannot = || format!("cannot write the secret file {}", path.display());
    let mut f = crate::fsutil::AtomicFile::create_private(path).with_context(cannot)?;
    writeln!(f, "{secret}").with_context(cannot)?;
    f.commit().with_context(cannot)?;
    Ok(())
}

/// Secrets from `POLYAI_WEBHOOK_SECRET` (comma/whitespace separated) and the secret file
/// (one per line). Never from a plain flag: arguments are visible to every local user.
pub fn load_secrets(env: &dyn Fn(&str) -> Option<String>, file: Option<&Path>) -> Result<Vec<SigningSecret>> {
    let mut secrets: Vec<SigningSecret> = Vec::new();
    if let Some(v) = env("POLYAI_WEBHOOK_SECRET") {
        secrets.extend(
            v.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(SigningSecret::new),
        );
    }
    if let Some(path) = file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the secret file {}", path.display()))?;
        let before = secrets.len();
        secrets.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(SigningSecret::new),
        );
        if secrets.len() == before {
            bail!("the secret file {} holds no secret", path.display());
        }
    }
    if secrets.is_empty() {
        bail!(
            "no webhook signing secret: set POLYAI_WEBHOOK_SECRET or pass --secret-file PATH\n  (the secret is printed once by `callscope webhooks register`; it is not the API key)"
        );
    }
    Ok(secrets)
}

pub async fn listen(args: ListenOptions) -> Result<i32> {
    let secrets = load_secrets(&process_env, args.secret_file.as_deref())?;
    if !args.path.starts_with('/') {
        bail!("--path must start with / (got {:?})", args.path);
    }
    let mut config = ReceiverConfig::new(secrets);
    config.path = args.path.clone();
    config.max_body_bytes = args.max_body_bytes;
    let rx = receiver(config);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let local = listener.local_addr()?;
    crate::errln!(
        "listening for PolyAI webhooks on http://{local}{} (Ctrl-C to stop)",
        args.path
    );
    if !local.ip().is_loopback() {
        crate::errln!("note: {local} is reachable from other machines; only signed deliveries are accepted");
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let mut printer = tokio::spawn(print_events(rx.events, stop_rx));
    let limits = super::server::ServeLimits::for_this_process();
    let mut server = tokio::spawn(super::server::serve(listener, rx.router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    let handle = rx.handle.clone();
    let (served, printed) = tokio::select! {
        served = &mut server => {
            // No more deliveries come in: print what was accepted, then stop.
            let _ = stop_tx.send(());
            (served, (&mut printer).await)
        }
        printed = &mut printer => {
            // stdout is gone (the pipeline ended): nothing could be printed any more.
            server.abort();
            (Ok(()), printed)
        }
    };
    let stats = handle.stats();
    crate::errln!(
        "stopped: {} accepted, {} duplicates, {} refused (signature), {} bad requests, {} too large",
        stats.accepted,
        stats.duplicates,
        stats.unauthorized,
        stats.bad_request,
        stats.too_large
    );
    served.context("the receiver task failed")?;
    printed.context("the printer task failed")??;
    Ok(0)
}

/// One JSON line per event on stdout, flushed per line so pipelines see it at once. After
/// `stop`, prints what is still queued and returns.
async fn print_events(
    mut events: tokio::sync::mpsc::Receiver<super::WebhookEvent>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<()> {
    loop {
        let event = tokio::select! {
            biased;
            event = events.recv() => match event {
                Some(e) => e,
                None => return Ok(()),
            },
            _ = &mut stop => {
                while let Ok(e) = events.try_recv() {
                    if !print_line(&e)? {
                        break;
                    }
                }
                return Ok(());
            }
        };
        if !print_line(&event)? {
            return Ok(());
        }
    }
}

/// Prints one event; `false` when stdout is closed (a finished pipeline is not an error).
// Cannot fail: a serde_json::Value always serializes.
#[allow(clippy::expect_used)]
fn print_line(event: &super::WebhookEvent) -> Result<bool> {
    // JSON escapes C0 controls; C1 and bidi controls are escaped here, so untrusted text
    // cannot drive the terminal (the JSON value is the same).
    let line = serde_json::to_string(&event.raw).expect("JSON values serialize");
    let line = crate::sanitize::escape_json_controls(&line);
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|_| stdout.flush()) {
        Ok(()) => {
            tracing::info!(event_id = %event.id, event_type = %event.event_type, "webhook event");
            if let Some(line) = alert_line(event) {
                crate::errln!("{line}");
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// The human line `listen` writes on stderr for an alert (stdout keeps the JSON): sanitized,
/// as its text comes from the network.
pub fn alert_line(event: &super::WebhookEvent) -> Option<String> {
    let what = match event.event_type {
        super::EventType::AlertsTriggered => "alert triggered",
        super::EventType::AlertsResolved => "alert resolved",
        _ => return None,
    };
    let summary = event.alert.clone().unwrap_or_default().summary();
    Some(format!("{what}: {summary}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_env_and_file_and_are_required() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "# rotated 2026-11-28\nwhsec_new\n\n").unwrap();
        let env = |k: &str| (k == "POLYAI_WEBHOOK_SECRET").then(|| "whsec_a, whsec_b".to_string());
        let got = load_secrets(&env, Some(&path)).unwrap();
        let got: Vec<&str> = got.iter().map(|s| s.expose()).collect();
        assert_eq!(got, ["whsec_a", "whsec_b", "whsec_new"]);
        let none = |_: &str| None;
        assert!(
            load_secrets(&none, None)
                .unwrap_err()
                .to_string()
                .contains("POLYAI_WEBHOOK_SECRET")
        );
        std::fs::write(&path, "\n# nothing\n").unwrap();
        assert!(load_secrets(&none, Some(&path)).is_err());
    }
}
