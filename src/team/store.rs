//! [`TeamStore`]: the review side of the app store shared on the team database, local-first.
//! Conversations, search and stats stay in the local SQLite [`Store`]; marks, their history and
//! scores are written there first, together with an outbox entry, and the outbox goes to
//! PostgreSQL right away when it is reachable and on the next [`sync`](ReviewStore::sync) when
//! it is not. Teammates' changes come back on `sync` and are merged by the domain's rule.
//!
//! The seam is synchronous and runs on the store worker's thread, so the store has its own small
//! current-thread tokio runtime for tokio-postgres. A lost connection is retried at most every
//! [`RETRY`], so an unreachable database costs a refused connect, not a wait, per change.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio_postgres::Client;

use super::TeamSection;
use crate::api::Conversation;
use crate::config::EnvLookup;
use crate::domain::history::MarkField;
use crate::domain::{ConversationKey, Filter, MarkChange, Marks, Origin, Scope, ScoreRecord, Stamp};
use crate::store::outbox::{OutboxItem, TeamChange};
use crate::store::{
    ConversationCache, ConversationMerge, ListCursor, ListOrder, ListPage, ListRow, MarksImport, PushKind, Pushed,
    ReviewStore, SearchQuery, Store, StoreError, StoreErrorKind, StoreResult,
};

/// The channel every write notifies, with the conversation's key as JSON `[account, project, environment, id]`.
pub const CHANNEL: &str = "callscope_marks";
/// How soon a lost connection is tried again.
pub const RETRY: Duration = Duration::from_secs(2);
/// The longest one exchange with the database may take before it counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(3);
/// How long a write waits for a connection being made before it leaves its change in the outbox.
const CONNECT_WAIT: Duration = Duration::from_millis(300);
/// Changes sent, or read, per round trip.
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
    /// Wraps `local` (whose reviewer is this store's) and connects to `section`'s database. An
    /// unreachable database is not an error (the outbox holds changes until it answers); one
    /// that answers without the current schema is.
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
        };
        match store.connect(TIMEOUT + CONNECT_WAIT) {
            Ok(()) => {}
            // It answered: its schema is one the user must fix (`team init`, an upgrade).
            Err(Connect::Schema(e)) => return Err(e),
            Err(Connect::Unreachable(e)) => {
                tracing::warn!("team database unreachable, changes wait locally: {e:#}");
                store.failed(e);
            }
            // Still no answer: changes wait locally; a later exchange takes the connection.
            Err(Connect::Pending) => {
                tracing::warn!("team database: no answer yet, changes wait locally");
                store.last_error = Some("the team database does not answer".into());
            }
        }
        store.sync_now();
        Ok(store)
    }

    pub fn local(&self) -> &Store {
        &self.local
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

    /// Sends the outbox and reads teammates' changes; a failure leaves both for the next try.
    fn sync_now(&mut self) -> Vec<ConversationKey> {
        if self.client().is_none() {
            return Vec::new();
        }
        let result = self.flush().and_then(|()| self.pull());
        match result {
            Ok(touched) => touched,
            Err(e) => {
                self.failed(e);
                Vec::new()
            }
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

    /// Reads teammates' changes after the last read position and applies them locally.
    fn pull(&mut self) -> Result<Vec<ConversationKey>> {
        let mut touched = Vec::new();
        let marks_source = format!("marks@{}", self.source);
        let scores_source = format!("scores@{}", self.source);
        loop {
            let after_marks = self
                .local
                .team_read_position(&marks_source)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let after_scores = self
                .local
                .team_read_position(&scores_source)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let Some(client) = self.client.as_ref() else {
                anyhow::bail!("not connected");
            };
            let origin = self.origin.clone();
            let limit = BATCH as i64;
            let (mark_rows, score_rows) = self.run(async move {
                let marks = client
                    .query(
                        "SELECT seq, account, project, environment, conversation_id, field, before, after, reviewer, at_ms
                         FROM mark_changes WHERE seq > $1 AND origin <> $2 ORDER BY seq LIMIT $3",
                        &[&after_marks, &origin, &limit],
                    )
                    .await?;
                let scores = client
                    .query(
                        "SELECT seq, account, project, environment, conversation_id, scorecard, reviewer, at_ms,
                                answers, score, auto_failed
                         FROM scores WHERE seq > $1 AND origin <> $2 ORDER BY seq LIMIT $3",
                        &[&after_scores, &origin, &limit],
                    )
                    .await?;
                Ok((marks, scores))
            })?;
            if mark_rows.is_empty() && score_rows.is_empty() {
                return Ok(touched);
            }
            let key = |r: &tokio_postgres::Row| {
                Origin::new(r.get::<_, &str>(1), r.get::<_, &str>(2), r.get::<_, &str>(3)).key(r.get::<_, &str>(4))
            };
            let mut changes = Vec::with_capacity(mark_rows.len());
            for r in &mark_rows {
                let field = match MarkField::parse(r.get(5)) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!("team database: skipping a change: {e}");
                        continue;
                    }
                };
                changes.push(TeamChange {
                    key: key(r),
                    change: MarkChange {
                        field,
                        before: r.get(6),
                        after: r.get(7),
                        reviewer: r.get(8),
                        at_ms: r.get(9),
                    },
                });
            }
            let mut scores = Vec::with_capacity(score_rows.len());
            for r in &score_rows {
                let answers = serde_json::from_str(r.get(8)).unwrap_or_default();
                scores.push((
                    key(r),
                    ScoreRecord {
                        scorecard: r.get(5),
                        reviewer: r.get(6),
                        at_ms: r.get(7),
                        answers,
                        score: r.get(9),
                        auto_failed: r.get(10),
                    },
                ));
            }
            let mut positions = Vec::new();
            if let Some(r) = mark_rows.last() {
                positions.push((marks_source.as_str(), r.get::<_, i64>(0)));
            }
            if let Some(r) = score_rows.last() {
                positions.push((scores_source.as_str(), r.get::<_, i64>(0)));
            }
            let changed = self
                .local
                .apply_team_changes(&changes, &scores, &positions)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for k in changed {
                if !touched.contains(&k) {
                    touched.push(k);
                }
            }
            if mark_rows.len() < BATCH && score_rows.len() < BATCH {
                return Ok(touched);
            }
        }
    }
}

fn block_on<T>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = Result<T>>) -> Result<T> {
    rt.block_on(async {
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs())))
    })
}

impl ConversationCache for TeamStore {
    fn cache(&mut self, origin: &Origin, conversations: &[Conversation]) -> StoreResult<usize> {
        self.local.cache(origin, conversations)
    }

    fn conversation(&self, key: &ConversationKey) -> StoreResult<Option<Conversation>> {
        self.local.conversation(key)
    }

    fn list_page(
        &self,
        scope: &Scope,
        filter: &Filter,
        order: ListOrder,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> StoreResult<ListPage> {
        self.local.list_page(scope, filter, order, after, limit)
    }

    fn count(&self, scope: &Scope, filter: &Filter) -> StoreResult<u64> {
        self.local.count(scope, filter)
    }

    fn matching_ids(&self, scope: &Scope, filter: &Filter, ids: &[String]) -> StoreResult<Vec<String>> {
        self.local.matching_ids(scope, filter, ids)
    }

    fn search_conversations(&self, query: &SearchQuery, max: usize) -> StoreResult<Vec<ListRow>> {
        self.local.search_conversations(query, max)
    }

    fn stats(
        &self,
        scope: &Scope,
        filter: &Filter,
        req: &crate::stats::StatsRequest,
    ) -> StoreResult<crate::stats::Stats> {
        ConversationCache::stats(&self.local, scope, filter, req)
    }
}

impl ReviewStore for TeamStore {
    fn marks(&self, key: &ConversationKey) -> StoreResult<Marks> {
        self.local.marks(key)
    }

    fn update_marks(&mut self, key: &ConversationKey, change: &mut dyn FnMut(&mut Marks)) -> StoreResult<Marks> {
        let marks = self.local.update_marks_queued(key, change)?;
        self.sync_now();
        Ok(marks)
    }

    fn reviewer(&self) -> &str {
        self.local.reviewer()
    }

    fn history(&self, key: &ConversationKey) -> StoreResult<Vec<MarkChange>> {
        self.local.history(key)
    }

    fn stamps(&self, key: &ConversationKey) -> StoreResult<BTreeMap<MarkField, Stamp>> {
        self.local.stamps(key)
    }

    fn marked_since(&self, account: &str, project: &str, since_ms: Option<i64>) -> StoreResult<Vec<ConversationKey>> {
        self.local.marked_since(account, project, since_ms)
    }

    fn marks_and_pushed(&self, key: &ConversationKey) -> StoreResult<(Marks, Pushed)> {
        self.local.marks_and_pushed(key)
    }

    /// What was pushed to Agent Studio from this machine: local only.
    fn record_pushed(&mut self, key: &ConversationKey, kind: PushKind, hashes: &[String]) -> StoreResult<()> {
        self.local.record_pushed(key, kind, hashes)
    }

    fn export_marks(&self, scope: Option<&Scope>) -> StoreResult<String> {
        self.local.export_marks(scope)
    }

    fn merge_marks_from(
        &mut self,
        reader: &mut dyn Read,
        dry_run: bool,
        on_conversation: &mut dyn FnMut(&ConversationMerge),
    ) -> StoreResult<MarksImport> {
        let mut taken = Vec::new();
        let done = self
            .local
            .merge_marks_from(reader, dry_run, &mut |c: &ConversationMerge| {
                for o in c.changed() {
                    let before = o.local.as_ref().and_then(|s| s.value.clone());
                    let change = (o.field.clone(), before, o.incoming.value.clone());
                    taken.push((c.key.clone(), change, o.incoming.stamp.clone()));
                }
                on_conversation(c);
            })?;
        if !dry_run && !taken.is_empty() {
            self.local.queue_changes(&taken)?;
            self.sync_now();
        }
        Ok(done)
    }

    fn save_score(&mut self, key: &ConversationKey, record: &ScoreRecord) -> StoreResult<()> {
        self.local.save_score_queued(key, record)?;
        self.sync_now();
        Ok(())
    }

    fn scores(&self, key: &ConversationKey) -> StoreResult<Vec<ScoreRecord>> {
        self.local.scores(key)
    }

    fn sync(&mut self) -> StoreResult<Vec<ConversationKey>> {
        let touched = self.sync_now();
        match (&self.client, &self.last_error) {
            (None, Some(e)) => Err(offline(e)),
            _ => Ok(touched),
        }
    }

    fn unsynced(&self) -> Option<u64> {
        Some(self.local.outbox_len().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

        // A teammate with a store of their own sees alice's marks and scores after a sync.
        let mut bob = open("bob.db", "bob@acme");
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
