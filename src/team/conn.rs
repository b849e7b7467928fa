//! The connection to the team database: `[team] database = "postgres://user@host:port/db?sslmode=…"`,
//! the password from `password_file`, `PGPASSWORD` or `~/.pgpass` (never the URL, never a flag),
//! and errors that say what to do. The password never appears in a message.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;

use crate::config::EnvLookup;
use crate::sanitize::sanitize_line;

use super::tls::{Mode, Policy};

pub use crate::config::TeamSection;

impl TeamSection {
    /// Checks what can be checked without connecting (the URL, the lease).
    pub fn check(&self) -> Result<()> {
        if let Some(url) = &self.database {
            Target::parse(url)?;
        }
        self.lease()?;
        Ok(())
    }

    pub fn lease(&self) -> Result<Duration> {
        match &self.lease {
            None => Ok(super::DEFAULT_LEASE),
            Some(s) => crate::domain::duration::parse(s).map_err(|e| anyhow!("[team] lease: {e}")),
        }
    }
}

/// Where the database is, for messages (never with a password).
#[derive(Debug, Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub tls: Policy,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "database {} on {}:{} as {}",
            self.dbname, self.host, self.port, self.user
        )
    }
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "postgres".into())
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("[team] database must be a URL like postgres://alice@db.example/callscope?sslmode=require");
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let (rest, tls) = super::tls::split_url(url, home.as_deref())?;
        // The parser's message names the bad option, never its value: the URL is not echoed.
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| anyhow!("[team] database is not a valid PostgreSQL URL: {e}"))?;
        if config.get_password().is_some() {
            bail!(
                "[team] database must not hold the password: remove it from the URL and set PGPASSWORD, \
                 add it to ~/.pgpass, or point [team] password_file at a file holding it"
            );
        }
        config.ssl_mode(tls.mode.wire());
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_user().is_none() {
            config.user(os_user());
        }
        let host = match &config.get_hosts()[0] {
            Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or_default().to_string();
        let dbname = config.get_dbname().map(str::to_string).unwrap_or_else(|| user.clone());
        config.dbname(&dbname);
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("callscope");
        Ok(Target {
            config,
            host,
            port,
            dbname,
            user,
            tls,
        })
    }
}

/// Where the password came from, or why none was found (for the "wants a password" message).
fn find_password(section: &TeamSection, target: &Target, env: EnvLookup<'_>) -> Result<(Option<String>, String)> {
    if let Some(path) = &section.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("cannot read [team] password_file {}: {e}", path.display()))?;
        let pw = text.lines().next().unwrap_or("").trim_end_matches('\r').to_string();
        if pw.is_empty() {
            bail!("[team] password_file {} is empty", path.display());
        }
        return Ok((Some(pw), String::new()));
    }
    if let Some(pw) = env("PGPASSWORD") {
        return Ok((Some(pw), String::new()));
    }
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
    let Some(path) = path else {
        return Ok((None, "no HOME for ~/.pgpass".into()));
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok((None, format!("{} does not exist", path.display())));
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Ok((
                None,
                format!(
                    "{} is ignored: others may read it (chmod 600 {})",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    let port = target.port.to_string();
    Ok((
        pgpass_lookup(&text, &target.host, &port, &target.dbname, &target.user),
        format!("{} has no line for {}", path.display(), target),
    ))
}

/// The password of the first `host:port:database:user:password` line that matches (`*` matches
/// anything; `\:` and `\\` are escapes), as libpq reads `~/.pgpass`.
pub fn pgpass_lookup(text: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let ok = |pat: &str, val: &str| pat == "*" || pat == val;
        // libpq: "localhost" in the file also matches a connection over the default socket.
        let host_ok = ok(&fields[0], host) || (fields[0] == "localhost" && host.starts_with('/'));
        if host_ok && ok(&fields[1], port) && ok(&fields[2], db) && ok(&fields[3], user) {
            return Some(fields[4].clone());
        }
    }
    None
}

/// Connects, with the connection driven by a background task; the error says what to do.
pub async fn connect(section: &TeamSection, env: EnvLookup<'_>) -> Result<tokio_postgres::Client> {
    let (client, connection) = connect_raw(section, env)?.await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("team database connection ended: {e}");
        }
    });
    Ok(client)
}

/// A team database connection (TLS per `sslmode`, see `team::tls`).
pub type Connection =
    tokio_postgres::Connection<tokio_postgres::Socket, super::tls::RustlsStream<tokio_postgres::Socket>>;

/// The connection and the client, for a caller that reads the connection's own messages
/// (`LISTEN`'s notifications arrive there). The password is looked up before the returned
/// future starts, so the future holds no `env` and can move to another task.
pub fn connect_raw(
    section: &TeamSection,
    env: EnvLookup<'_>,
) -> Result<impl Future<Output = Result<(tokio_postgres::Client, Connection)>> + Send + use<>> {
    let Some(url) = &section.database else {
        bail!("no team database: set [team] database = \"postgres://user@host/db?sslmode=disable\" in the config file");
    };
    let mut target = Target::parse(url)?;
    let (password, why_none) = find_password(section, &target, env)?;
    if let Some(pw) = &password {
        target.config.password(pw.as_bytes());
    }
    let tls = target.tls.connector()?;
    Ok(async move {
        target
            .config
            .connect(tls)
            .await
            .map_err(|e| explain(&e, &target, &why_none))
    })
}

/// An actionable message for a failed connection or statement.
pub fn explain(e: &tokio_postgres::Error, target: &Target, why_none: &str) -> anyhow::Error {
    if let Some(db) = e.as_db_error() {
        let server = sanitize_line(db.message());
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD {
            anyhow!(
                "authentication failed for {target} ({server}): check the password in PGPASSWORD, ~/.pgpass \
                 or [team] password_file"
            )
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            anyhow!(
                "the server refused {target}: {server}\n  its pg_hba.conf has no entry for this host, user \
                 and database: ask the database's admin to add one"
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            anyhow!(
                "{target}: the database does not exist: create it (createdb -h {} -p {} -U {} {}), then run \
                 `callscope team init`",
                target.host,
                target.port,
                target.user,
                target.dbname
            )
        } else {
            anyhow!("team database ({target}): {server} [{}]", code.code())
        };
    }
    let text = e.to_string();
    if text.starts_with("error performing TLS handshake") {
        return explain_tls(e, target);
    }
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
    if text.contains("password missing") {
        return anyhow!(
            "{target}: the server wants a password and none was found ({why_none}): set PGPASSWORD, add a \
             line host:port:database:user:password to ~/.pgpass (chmod 600), or set [team] password_file"
        );
    }
    if let Some(io) = io {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => anyhow!(
                "cannot reach PostgreSQL at {}:{} (connection refused): is the server running, and are the host \
                 and port in [team] database right?",
                target.host,
                target.port
            ),
            std::io::ErrorKind::NotFound if target.host.starts_with('/') => anyhow!(
                "no PostgreSQL socket in {} (port {}): is the server running there?",
                target.host,
                target.port
            ),
            _ => anyhow!(
                "cannot reach PostgreSQL at {}:{}: {} — check the host in [team] database",
                target.host,
                target.port,
                sanitize_line(&io.to_string())
            ),
        };
    }
    if text.contains("timeout") || text.contains("timed out") {
        return anyhow!(
            "PostgreSQL at {}:{} did not answer within 5 s: check the host, port and any firewall",
            target.host,
            target.port
        );
    }
    anyhow!("team database ({target}): {}", sanitize_line(&text))
}

/// A failed TLS handshake: which check failed and what to change.
fn explain_tls(e: &tokio_postgres::Error, target: &Target) -> anyhow::Error {
    use rustls::CertificateError as C;
    let policy = target.tls.describe();
    let at = format!("PostgreSQL at {}:{}", target.host, target.port);
    let source = std::error::Error::source(e);
    let rustls_error = source
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let detail = source.map(|s| sanitize_line(&s.to_string())).unwrap_or_default();
    if detail.contains("server does not support TLS") {
        return anyhow!(
            "{at} does not offer TLS, and [team] database asks for sslmode={}: turn ssl on in the server's \
             postgresql.conf, or (on a trusted network only) set sslmode=prefer or disable",
            target.tls.mode.name()
        );
    }
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(C::UnknownIssuer)) => anyhow!(
            "{at}: the server's TLS certificate is not signed by a CA in sslrootcert ({policy}): point \
             sslrootcert at the CA certificate that signed it (ask the database's admin for it)"
        ),
        Some(rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            anyhow!(
                "{at}: the server's TLS certificate is not valid for the host name {:?} ({policy}): connect \
                 with the name the certificate was issued for, or use sslmode=verify-ca to check only the CA",
                target.host
            )
        }
        Some(rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        )) => anyhow!(
            "{at}: the server's TLS certificate is outside its validity period ({detail}): the server needs a \
             renewed certificate (or check this machine's clock)"
        ),
        _ => anyhow!("{at}: the TLS handshake failed ({policy}): {detail}"),
    }
}

/// The connection's TLS state as the server sees it (`pg_stat_ssl`), for `doctor`.
pub async fn tls_state(client: &tokio_postgres::Client, target: &Target) -> Result<String> {
    let row = client
        .query_opt(
            "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    let on = row.as_ref().map(|r| r.get::<_, bool>(0)).unwrap_or(false);
    Ok(if on {
        let r = row.as_ref();
        let get = |i| r.and_then(|r| r.get::<_, Option<String>>(i)).unwrap_or_default();
        format!(
            "TLS {} {} ({})",
            sanitize_line(&get(1)),
            sanitize_line(&get(2)),
            target.tls.describe()
        )
    } else if target.tls.mode == Mode::Disable {
        "no TLS (sslmode=disable)".into()
    } else {
        format!(
            "no TLS: the server does not offer it ({}; a Unix socket never has TLS)",
            target.tls.describe()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let text = "# comment\n\
                    db.example:5432:callscope:alice:s3\\:cret\n\
                    *:*:*:bob:bobpw\n";
        assert_eq!(
            pgpass_lookup(text, "db.example", "5432", "callscope", "alice").as_deref(),
            Some("s3:cret")
        );
        assert_eq!(pgpass_lookup(text, "other", "1", "x", "bob").as_deref(), Some("bobpw"));
        assert_eq!(pgpass_lookup(text, "db.example", "5433", "callscope", "alice"), None);
    }

    #[test]
    fn urls_are_checked_without_echoing_them() {
        let t = Target::parse("postgres://alice@db.example:6543/team?sslmode=disable").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.dbname.as_str(), t.user.as_str()),
            ("db.example", 6543, "team", "alice")
        );
        let e = Target::parse("postgres://alice:hunter2@db.example/team")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must not hold the password") && !e.contains("hunter2"),
            "{e}"
        );
        let t = Target::parse("postgres://alice@db.example/team?sslmode=require").unwrap();
        assert_eq!(t.tls.mode, Mode::Require);
        let e = Target::parse("postgres://alice@db.example/team?sslmode=bogus")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sslmode must be") && !e.contains("db.example"), "{e}");
        let e = Target::parse("postgres://alice@db.example/team?bogus=1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a valid PostgreSQL URL") && !e.contains("db.example"),
            "{e}"
        );
        assert!(Target::parse("mysql://x").is_err());
    }

    #[test]
    fn the_password_file_beats_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let section = TeamSection {
            database: Some("postgres://a@h/d".into()),
            password_file: Some(file),
            lease: None,
        };
        let target = Target::parse(section.database.as_deref().unwrap()).unwrap();
        let env = |k: &str| (k == "PGPASSWORD").then(|| "from-env".to_string());
        assert_eq!(
            find_password(&section, &target, &env).unwrap().0.as_deref(),
            Some("from-file")
        );
        let section = TeamSection {
            password_file: None,
            ..section
        };
        assert_eq!(
            find_password(&section, &target, &env).unwrap().0.as_deref(),
            Some("from-env")
        );
    }
}
