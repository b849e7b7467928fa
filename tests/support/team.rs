//! A real PostgreSQL for the team-store tests: the server `scripts/dev test` starts with
//! `pg_virtualenv` (it exports PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), or any server
//! those variables name. Each test gets its own database, dropped at the end. Without one a test
//! skips with the reason, except under `CI`, where it fails.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use callscope::team::{Team, TeamSection};

/// The server's address from the PG* variables.
pub struct Server {
    pub host: String,
    pub port: String,
    pub user: String,
}

/// The PG* server, or `None` after printing why (a panic under CI).
pub fn server(test: &str) -> Option<Server> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("PGHOST"), var("PGPASSWORD")) {
        (Some(host), Some(_)) => Some(Server {
            host,
            port: var("PGPORT").unwrap_or_else(|| "5432".into()),
            user: var("PGUSER").unwrap_or_else(|| "postgres".into()),
        }),
        _ => {
            let why = "no PostgreSQL: PGHOST/PGPASSWORD are unset (run the tests with `scripts/dev test`, \
                       which starts one with pg_virtualenv, or `pg_virtualenv cargo test --test NAME`)";
            if std::env::var_os("CI").is_some() {
                panic!("{test}: {why}");
            }
            eprintln!("skipping {test}: {why}");
            None
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh database on the server, with a config file whose `[team]` names it; dropped on drop.
pub struct TestDb {
    pub server: Server,
    pub name: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Server {
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{db}?sslmode=disable",
            self.user, self.host, self.port
        )
    }

    fn admin_sql(&self, sql: &str) {
        let url = self.url(&std::env::var("PGDATABASE").unwrap_or_else(|_| "postgres".into()));
        let sql = sql.to_string();
        runtime().block_on(async move {
            let section = TeamSection {
                database: Some(url),
                ..Default::default()
            };
            let client = callscope::team::conn::connect(&section, &callscope::config::process_env)
                .await
                .expect("connect to the test server");
            client.batch_execute(&sql).await.expect("admin statement");
        });
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl TestDb {
    /// A new empty database (no schema yet), or `None` when the test must skip.
    pub fn new(test: &str) -> Option<TestDb> {
        let server = server(test)?;
        let name = format!(
            "cs_{}_{}_{}",
            test.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(30)
                .collect::<String>()
                .to_lowercase(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        server.admin_sql(&format!("CREATE DATABASE {name}"));
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, format!("[team]\ndatabase = \"{}\"\n", server.url(&name))).unwrap();
        Some(TestDb {
            server,
            name,
            dir,
            config,
        })
    }

    /// As [`TestDb::new`], with the schema created.
    pub fn initialised(test: &str) -> Option<TestDb> {
        let db = Self::new(test)?;
        runtime().block_on(async {
            let mut team = Team::connect_unchecked(&db.section(), &callscope::config::process_env)
                .await
                .unwrap();
            team.init().await.unwrap();
        });
        Some(db)
    }

    pub fn url(&self) -> String {
        self.server.url(&self.name)
    }

    pub fn section(&self) -> TeamSection {
        TeamSection {
            database: Some(self.url()),
            ..Default::default()
        }
    }

    /// A connection of its own (each reviewer thread gets one).
    pub async fn team(&self) -> Team {
        Team::open(&self.section(), &callscope::config::process_env)
            .await
            .unwrap()
    }

    /// Puts top-level keys before the config file's `[team]`.
    pub fn prepend_config(&self, text: &str) {
        let cfg = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, format!("{text}{cfg}")).unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.server
            .admin_sql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Queue items named c0000…, for tests that need no API.
pub fn items(n: usize) -> Vec<callscope::team::sample::Item> {
    (0..n)
        .map(|i| callscope::team::sample::Item {
            id: format!("c{i:04}"),
            stratum: "VOICE-SIP".into(),
            started_at: String::new(),
        })
        .collect()
}

pub fn new_queue(name: &str, n: usize, reviewers_per_item: u32) -> callscope::team::NewQueue {
    callscope::team::NewQueue {
        name: name.into(),
        created_by: "lead@test".into(),
        recipe: "test".into(),
        scorecard: callscope::team::scorecard::find(&toml::Table::new(), "voice-qa").unwrap(),
        reviewers_per_item,
        assignees: Vec::new(),
        items: items(n),
    }
}

/// The team listener of a headless TUI (`tui::team::listen`) on a runtime of its own, as the
/// event loop runs it; keep the runtime for as long as the listener should run.
pub fn listening(
    section: &TeamSection,
    tx: tokio::sync::mpsc::UnboundedSender<callscope::app::Msg>,
) -> tokio::runtime::Runtime {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    {
        let _in = rt.enter();
        callscope::tui::team::listen(section.clone(), tx);
    }
    rt
}
