//! [`TeamStore`]: the review side of the app store shared on the team database, local-first.
//! Conversations, search and stats stay in the local SQLite [`Store`]; marks, their history and
//! scores are written there first, together with an outbox entry, and the outbox goes to
//! PostgreSQL right away when it is reachable and on the next [`sync`](ReviewStore::sync) when
//! it is not. Teammates' changes come back on `sync`, a page per call (`team::pull`), and are
//! merged by the domain's rule. Opening reads nothing: the store worker's first sync does, so a
//! long team history or a slow database never stands between the user and the first screen.
//!
//! The seam is synchronous and runs on the store worker's thread, so the store has its own small
//! current-thread tokio runtime for tokio-postgres. A lost connection is retried at most every
//! [`RETRY`], so an unreachable database costs a refused connect, not a wait, per change.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio_postgres::Client;

use super::TeamSection;
use crate::config::EnvLookup;
use crate::domain::{ConversationKey, Marks, Origin, ScoreRecord};
use crate::store::outbox::OutboxItem;
use crate::store::{
    ConversationCache, ConversationMerge, LocalStore, MarksImport, ReviewStore, Store, StoreError, StoreErrorKind,
    StoreResult,
};

/// The channel every write notifies, with the conversation's key as JSON `[account, project, environment, id]`.
pub const CHANNEL: &str = "callscope_marks";
/// How soon a lost connection is tried again.
pub const RETRY: Duration = Duration::from_secs(2);
/// The longest one exchange with the database may take before it counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(3);
/// How long a write waits for a connection being made before it leaves its change in the outbox.
const CONNECT_WAIT: Duration = Duration::from_millis(300);
/// How long opening waits for the database to answer (to refuse a wrong schema at once); past
/// it the store opens offline-first and a later exchange takes the connection.
const OPEN_WAIT: Duration = Duration::from_secs(1);
/// Changes sent per round trip.
const BATCH: usize = 500;

/// Where the password comes from on every (re)connect; `Sync` so the store can move threads.
pub type Env = &'static (dyn Fn(&str) -> Option<String> + Sync);

/// The key as the notification's payload.
pub fn payload(key: &ConversationKey) -> String {
    serde_json::json!([key.account, key.project, key.environment, key.id]).to_string()
}

/// A notification's payload back as a key (`None`: not one of ours).
pub fn parse_payload(text: &str) -> Option<ConversationKey> {
    let [account, project, environment, id]: [String; 4] = serde_json::from_str(text).ok()?;
    let ok = |s: &str| !s.is_empty() && s.len() <= 200 && !s.chars().any(char::is_control);
    [&account, &project, &environment, &id]
        .iter()
        .all(|s| ok(s))
        .then(|| Origin::new(&account, &project, &environment).key(&id))
}

pub struct TeamStore {
    local: Store,
    section: TeamSection,
    env: Env,
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    /// A connection under way in the background, with its outcome when done.
    connecting: Option<std::sync::mpsc::Receiver<Result<Client, Connect>>>,
    /// No connection before this (after a failure).
    next_attempt: Instant,
    /// Names this database's read positions in the local store.
    source: String,
    origin: String,
    /// What the last failed exchange said (for the log and `doctor`).
    last_error: Option<String>,
    /// Teammates' changes the last pull left for the next (`team::pull::Page::behind`).
    behind: u64,
}

/// A connection made and checked: the client, with its connection driven on the runtime.
async fn connect_checked(
    fut: impl Future<Output = Result<(Client, super::conn::Connection)>>,
) -> Result<Client, Connect> {
    let (client, connection) = tokio::time::timeout(TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs())))
        .map_err(Connect::Unreachable)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("team database connection ended: {e}");
        }
    });
    match tokio::time::timeout(TIMEOUT, super::schema::version(&client)).await {
        Ok(Ok(_)) => Ok(client),
        // A connection that dropped during the check is an unreachable database, not a schema.
        Ok(Err(e)) if !client.is_closed() => Err(Connect::Schema(e)),
        Ok(Err(e)) => Err(Connect::Unreachable(e)),
        Err(_) => Err(Connect::Unreachable(anyhow::anyhow!(
            "no answer within {} s",
            TIMEOUT.as_secs()
        ))),
    }
}

/// Why a connection was not made.
enum Connect {
    /// Still being made in the background.
    Pending,
    /// No answer, refused, dropped: changes wait in the outbox.
    Unreachable(anyhow::Error),
    /// The database answered, but its schema is not this build's.
    Schema(anyhow::Error),
}

fn offline(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::CannotOpen, format!("team database: {e}"))
}

impl TeamStore {
    /// Wraps `local` (whose reviewer is this store's) and starts connecting to `section`'s
    /// database, waiting at most [`OPEN_WAIT`] for it. An unreachable or slow database is not an
    /// error (the outbox holds changes until it answers); one that answers without the current
    /// schema is. Nothing is sent or read here: the first [`sync`](ReviewStore::sync) does that.
    pub fn open(local: Store, section: &TeamSection, env: Env) -> Result<TeamStore> {
        let url = section.database.as_deref().context("no [team] database")?;
        let target = super::conn::Target::parse(url)?;
        // One worker thread: connecting runs there in the background, so a database that does
        // not answer never holds up the store worker for more than CONNECT_WAIT.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("callscope-team")
            .enable_all()
            .build()
            .context("cannot start the team store's runtime")?;
        let origin = local.team_origin().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut store = TeamStore {
            local,
            section: section.clone(),
            env,
            rt,
            client: None,
            connecting: None,
            next_attempt: Instant::now(),
            source: format!("{}:{}/{}", target.host, target.port, target.dbname),
            origin,
            last_error: None,
            behind: 0,
        };
        match store.connect(OPEN_WAIT) {
            Ok(()) => {}
            // It answered: its schema is one the user must fix (`team init`, an upgrade).
            Err(Connect::Schema(e)) => return Err(e),
            Err(Connect::Unreachable(e)) => {
                tracing::warn!("team database unreachable, changes wait locally: {e:#}");
                store.failed(e);
            }
            // Still no answer: changes wait locally; a later exchange takes the connection (and
            // a wrong schema found then is the sync's error, in the header).
            Err(Connect::Pending) => {
                tracing::warn!("team database: no answer yet, changes wait locally");
                store.last_error = Some("the team database does not answer".into());
            }
        }
        Ok(store)
    }

    /// Whether the database answered the last exchange.
    pub fn online(&self) -> bool {
        self.client.is_some()
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Runs `fut` on the store's runtime within [`TIMEOUT`]. Not from inside another runtime
    /// (the store lives on the store worker's thread; `open` it on a plain thread too).
    fn run<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        block_on(&self.rt, fut)
    }

    /// Starts a connection in the background (the password is looked up here) and waits up to
    /// `wait` for it; past that it goes on and a later call takes it (without waiting again).
    fn connect(&mut self, mut wait: Duration) -> Result<(), Connect> {
        if self.connecting.is_some() {
            wait = Duration::ZERO;
        } else {
            let fut = super::conn::connect_raw(&self.section, self.env as EnvLookup).map_err(Connect::Unreachable)?;
            let (tx, rx) = std::sync::mpsc::channel();
            self.rt.spawn(async move {
                let _ = tx.send(connect_checked(fut).await);
            });
            self.connecting = Some(rx);
        }
        let Some(rx) = &self.connecting else {
            return Ok(());
        };
        let outcome = match rx.recv_timeout(wait) {
            Ok(outcome) => outcome,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(Connect::Pending);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(Connect::Unreachable(anyhow::anyhow!("the connection attempt ended")))
            }
        };
        self.connecting = None;
        self.client = Some(outcome?);
        self.last_error = None;
        Ok(())
    }

    /// A connection, unless the database failed less than [`RETRY`] ago or a connection is
    /// still being made.
    fn client(&mut self) -> Option<&Client> {
        let closed = self.client.as_ref().is_some_and(Client::is_closed);
        if closed {
            self.client = None;
        }
        if self.client.is_none() && (self.connecting.is_some() || Instant::now() >= self.next_attempt) {
            match self.connect(CONNECT_WAIT) {
                Ok(()) => tracing::info!("team database reachable"),
                Err(Connect::Pending) => {}
                Err(Connect::Unreachable(e) | Connect::Schema(e)) => self.failed(e),
            }
        }
        self.client.as_ref()
    }

    fn failed(&mut self, e: anyhow::Error) {
        let text = format!("{e:#}");
        if self.last_error.as_deref() != Some(text.as_str()) {
            tracing::warn!("team database: {text}");
        }
        self.last_error = Some(text);
        self.client = None;
        self.next_attempt = Instant::now() + RETRY;
    }

    /// One exchange: sends the outbox and reads a page of teammates' changes; a failure leaves
    /// both for the next try.
    fn exchange(&mut self) -> Vec<ConversationKey> {
        // Unknown until a page is read: an exchange that fails must not look like more to read.
        self.behind = 0;
        if self.client().is_none() {
            return Vec::new();
        }
        match self.flush().and_then(|()| self.pull_page()) {
            Ok(touched) => touched,
            Err(e) => {
                self.failed(e);
                Vec::new()
            }
        }
    }

    /// After a write: sends the outbox if the database is reachable (reading is left to
    /// `sync`, which tells the app what changed).
    fn send_waiting(&mut self) {
        if self.client().is_none() {
            return;
        }
        if let Err(e) = self.flush() {
            self.failed(e);
        }
    }

    /// Sends waiting changes, oldest first, a batch per transaction. A change the database has
    /// already (its ack was lost) is skipped there by its id; each conversation sent is notified.
    fn flush(&mut self) -> Result<()> {
        loop {
            let queued = self.local.outbox_peek(BATCH).map_err(|e| anyhow::anyhow!("{e}"))?;
            let Some(last) = queued.last().map(|q| q.seq) else {
                return Ok(());
            };
            let Some(client) = self.client.as_mut() else {
                anyhow::bail!("not connected");
            };
            let origin = self.origin.clone();
            let send = async move {
                let tx = client.transaction().await?;
                // One writer at a time: sequence order is then commit order (see schema 2).
                tx.execute("SELECT pg_advisory_xact_lock(7300115)", &[]).await?;
                let mark = tx
                    .prepare(
                        "WITH ins AS (
                             INSERT INTO mark_changes (change_id, origin, account, project, environment,
                                 conversation_id, field, before, after, reviewer, at_ms)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                             ON CONFLICT (change_id) DO NOTHING RETURNING 1)
                         INSERT INTO marks AS m (account, project, environment, conversation_id, field, value, reviewer, at_ms)
                         SELECT $3, $4, $5, $6, $7, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM ins)
                         ON CONFLICT (account, project, environment, conversation_id, field) DO UPDATE
                         SET value = EXCLUDED.value, reviewer = EXCLUDED.reviewer, at_ms = EXCLUDED.at_ms
                         WHERE (EXCLUDED.at_ms, EXCLUDED.reviewer COLLATE \"C\", EXCLUDED.value IS NOT NULL,
                                coalesce(EXCLUDED.value, '') COLLATE \"C\")
                             > (m.at_ms, m.reviewer COLLATE \"C\", m.value IS NOT NULL, coalesce(m.value, '') COLLATE \"C\")",
                    )
                    .await?;
                let score = tx
                    .prepare(
                        "INSERT INTO scores (change_id, origin, account, project, environment, conversation_id,
                             scorecard, reviewer, at_ms, answers, score, auto_failed)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                         ON CONFLICT (change_id) DO NOTHING",
                    )
                    .await?;
                let mut keys: Vec<&ConversationKey> = Vec::new();
                for q in &queued {
                    let k = &q.key;
                    match &q.item {
                        OutboxItem::Mark {
                            field,
                            before,
                            after,
                            reviewer,
                            at_ms,
                        } => {
                            tx.execute(
                                &mark,
                                &[
                                    &q.change_id,
                                    &origin,
                                    &k.account,
                                    &k.project,
                                    &k.environment,
                                    &k.id,
                                    field,
                                    before,
                                    after,
                                    reviewer,
                                    at_ms,
                                ],
                            )
                            .await?;
                        }
                        OutboxItem::Score(r) => {
                            let answers = serde_json::to_string(&r.answers)?;
                            tx.execute(
                                &score,
                                &[
                                    &q.change_id,
                                    &origin,
                                    &k.account,
                                    &k.project,
                                    &k.environment,
                                    &k.id,
                                    &r.scorecard,
                                    &r.reviewer,
                                    &r.at_ms,
                                    &answers,
                                    &r.score,
                                    &r.auto_failed,
                                ],
                            )
                            .await?;
                        }
                    }
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                for k in keys {
                    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload(k)]).await?;
                }
                tx.commit().await?;
                Ok(())
            };
            block_on(&self.rt, send).context("sending changes")?;
            self.local.outbox_sent(last).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }

    /// Reads one page of teammates' changes after the read positions and applies it locally,
    /// with the new positions, in one local transaction.
    fn pull_page(&mut self) -> Result<Vec<ConversationKey>> {
        let marks_source = format!("marks@{}", self.source);
        let scores_source = format!("scores@{}", self.source);
        let position = |source: &str| {
            self.local
                .team_read_position(source)
                .map_err(|e| anyhow::anyhow!("{e}"))
        };
        let after = super::pull::After {
            marks: position(&marks_source)?,
            scores: position(&scores_source)?,
        };
        let Some(client) = self.client.as_ref() else {
            anyhow::bail!("not connected");
        };
        let page = self.run(super::pull::read_page(client, after, &self.origin))?;
        let mut positions = Vec::new();
        if let Some(seq) = page.marks_to {
            positions.push((marks_source.as_str(), seq));
        }
        if let Some(seq) = page.scores_to {
            positions.push((scores_source.as_str(), seq));
        }
        let touched = if positions.is_empty() {
            Vec::new()
        } else {
            self.local
                .apply_team_changes(&page.changes, &page.scores, &positions)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        };
        self.behind = page.behind;
        Ok(touched)
    }
}

fn block_on<T>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = Result<T>>) -> Result<T> {
    rt.block_on(async {
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs())))
    })
}

impl LocalStore for TeamStore {
    fn local(&self) -> &Store {
        &self.local
    }

    fn local_mut(&mut self) -> &mut Store {
        &mut self.local
    }
}

impl ConversationCache for TeamStore {}

/// The reads are the local store's (its copy is kept up to date by `sync`); the writes are
/// queued with an outbox entry and sent at once when the database answers.
impl ReviewStore for TeamStore {
    fn update_marks(&mut self, key: &ConversationKey, change: &mut dyn FnMut(&mut Marks)) -> StoreResult<Marks> {
        let marks = self.local.update_marks_queued(key, change)?;
        self.send_waiting();
        Ok(marks)
    }

    fn merge_marks_from(
        &mut self,
        reader: &mut dyn Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport> {
        let (mut taken, mut scores) = (Vec::new(), Vec::new());
        let done = self
            .local
            .merge_marks_from(reader, dry_run, &mut |c: &ConversationMerge| {
                for o in c.changed() {
                    let before = o.local.as_ref().and_then(|s| s.value.clone());
                    let change = (o.field.clone(), before, o.incoming.value.clone());
                    taken.push((c.key.clone(), change, o.incoming.stamp.clone()));
                }
                scores.extend(c.new_scores.iter().map(|r| (c.key.clone(), r.clone())));
                on_conversation(c);
            })?;
        if !dry_run && (!taken.is_empty() || !scores.is_empty()) {
            self.local.queue_changes(&taken, &scores)?;
            self.send_waiting();
        }
        Ok(done)
    }

    fn save_score(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()> {
        self.local.save_score_queued(key, record)?;
        self.send_waiting();
        Ok(())
    }

    fn sync(&mut self) -> StoreResult<Vec<ConversationKey>> {
        let touched = self.exchange();
        match (&self.client, &self.last_error) {
            (None, Some(e)) => Err(offline(e)),
            _ => Ok(touched),
        }
    }

    fn unsynced(&self) -> Option<u64> {
        Some(self.local.outbox_len().unwrap_or(0))
    }

    fn behind(&self) -> u64 {
        self.behind
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::MarkField;

    #[test]
    fn payloads_round_trip_and_refuse_what_is_not_a_key() {
        let key = Origin::new("ws", "p", "live").key("CA1");
        assert_eq!(parse_payload(&payload(&key)), Some(key));
        assert_eq!(parse_payload("[\"a\",\"b\",\"c\"]"), None);
        assert_eq!(parse_payload("[\"a\",\"b\",\"c\",\"\\u001b[2J\"]"), None);
        assert_eq!(parse_payload("not json"), None);
    }

    /// The seam's contract against a real PostgreSQL (skips without one, as tests/support/team does).
    #[test]
    fn the_team_store_keeps_the_contract() {
        let Some(db) = test_db::TestDb::new("contract") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, reviewer: &str| {
            let mut local = Store::open(&dir.path().join(name)).unwrap();
            local.set_reviewer(reviewer);
            let store = TeamStore::open(local, &db.section(), &crate::config::process_env).unwrap();
            assert!(store.online(), "{:?}", store.last_error());
            store
        };
        crate::store::review::contract::conversation_cache(&mut open("cache.db", "alice@acme"));
        let mut review = open("review.db", "alice@acme");
        crate::store::review::contract::review_store(&mut review);
        assert_eq!(review.unsynced(), Some(0), "everything reached the database");
        crate::store::review::contract::score_store(&mut open("scores.db", "alice@acme"));
        let mut both: Box<dyn crate::store::AppStore> = Box::new(open("both.db", "alice@acme"));
        crate::store::review::contract::app_store(both.as_mut());

        // A teammate with a store of their own sees alice's marks and scores after a sync (opening
        // reads nothing).
        let mut bob = open("bob.db", "bob@acme");
        assert!(
            bob.marks(&Origin::new("ws", "p", "live").key("CA1"))
                .unwrap()
                .is_empty()
        );
        assert!(!bob.sync().unwrap().is_empty());
        assert_eq!(bob.behind(), 0, "a few changes are one page");
        let key = Origin::new("ws", "p", "live").key("CA1");
        assert_eq!(
            bob.marks(&key).unwrap().note,
            "from bob",
            "the imported note reached the team"
        );
        assert_eq!(bob.scores(&key).unwrap().len(), 3);
        assert_eq!(
            review.sync().unwrap().len(),
            4,
            "the other stores' CA1, CA7, CA8 and sandbox CA1"
        );
        assert!(bob.toggle_flag(&key, "by_bob").unwrap());
        assert_eq!(review.sync().unwrap(), std::slice::from_ref(&key));
        assert!(review.marks(&key).unwrap().flags.contains("by_bob"));
        assert_eq!(
            review.stamps(&key).unwrap()[&MarkField::Flag("by_bob".into())].reviewer,
            "bob@acme"
        );
        assert!(review.sync().unwrap().is_empty(), "nothing new: nothing changes");
    }
}

/// A throwaway database on the PG* server for the unit tests (as `tests/support/team.rs`).
#[cfg(test)]
pub(crate) mod test_db {
    use super::*;

    pub struct TestDb {
        admin: TeamSection,
        pub name: String,
        pub url: String,
    }

    fn server_url(db: &str) -> Option<String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let host = var("PGHOST")?;
        var("PGPASSWORD")?;
        let port = var("PGPORT").unwrap_or_else(|| "5432".into());
        let user = var("PGUSER").unwrap_or_else(|| "postgres".into());
        Some(format!("postgres://{user}@{host}:{port}/{db}?sslmode=disable"))
    }

    fn admin(section: &TeamSection, sql: &str) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = super::super::conn::connect(section, &crate::config::process_env)
                .await
                .unwrap();
            c.batch_execute(sql).await.unwrap();
        });
    }

    impl TestDb {
        /// A new database with the team schema, or `None` (after saying why) without a server.
        pub fn new(test: &str) -> Option<TestDb> {
            let Some(admin_url) = server_url(&std::env::var("PGDATABASE").unwrap_or_else(|_| "postgres".into())) else {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{test}: no PostgreSQL (PGHOST/PGPASSWORD unset)"
                );
                tracing::warn!("skipping {test}: no PostgreSQL (run under pg_virtualenv)");
                return None;
            };
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let name = format!(
                "cs_unit_{test}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let admin_section = TeamSection {
                database: Some(admin_url),
                ..Default::default()
            };
            admin(&admin_section, &format!("CREATE DATABASE {name}"));
            let url = server_url(&name)?;
            let db = TestDb {
                admin: admin_section,
                name,
                url,
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut team = super::super::Team::connect_unchecked(&db.section(), &crate::config::process_env)
                    .await
                    .unwrap();
                team.init().await.unwrap();
            });
            Some(db)
        }

        pub fn section(&self) -> TeamSection {
            TeamSection {
                database: Some(self.url.clone()),
                ..Default::default()
            }
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            admin(
                &self.admin,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            );
        }
    }
}
