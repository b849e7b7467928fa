//! The team database's versioned schema: `schema_version` holds the version; `team init` applies
//! the migrations after it in one transaction (under an advisory lock, so two inits at once are
//! safe), does nothing when it is current, and refuses a database written by a newer callscope.

use anyhow::{Context, Result, bail};

/// Migration N (1-based) brings the schema from version N−1 to N.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE queues (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    -- The sample's recipe, as given (window, filter, seed), for `queue list`.
    recipe text NOT NULL,
    scorecard text NOT NULL,
    -- The form itself (JSON), so every reviewer scores against the same questions.
    scorecard_def text NOT NULL,
    reviewers_per_item int NOT NULL CHECK (reviewers_per_item >= 1),
    -- Empty: anyone may claim.
    assignees text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE queue_items (
    queue_id bigint NOT NULL REFERENCES queues ON DELETE CASCADE,
    position int NOT NULL,
    conversation_id text NOT NULL,
    stratum text NOT NULL,
    started_at text NOT NULL,
    PRIMARY KEY (queue_id, conversation_id),
    UNIQUE (queue_id, position)
);
-- One row per review wanted: reviewers_per_item slots per item. A claim takes a free slot (or one
-- whose lease ran out); the row lock of FOR UPDATE SKIP LOCKED makes a claim atomic.
CREATE TABLE queue_slots (
    queue_id bigint NOT NULL,
    conversation_id text NOT NULL,
    slot int NOT NULL,
    position int NOT NULL,
    reviewer text,
    claimed_at timestamptz,
    lease_until timestamptz,
    done_at timestamptz,
    PRIMARY KEY (queue_id, conversation_id, slot),
    FOREIGN KEY (queue_id, conversation_id) REFERENCES queue_items ON DELETE CASCADE
);
-- A claim looks at free slots first (held ones leave this index, so a claim costs the same at
-- the end of a queue as at its start), then at held ones whose lease ran out.
CREATE INDEX queue_slots_free ON queue_slots (queue_id, position, slot) WHERE done_at IS NULL AND reviewer IS NULL;
CREATE INDEX queue_slots_lease ON queue_slots (queue_id, lease_until) WHERE done_at IS NULL AND reviewer IS NOT NULL;
-- Nobody reviews the same item twice, even from two processes at once.
CREATE UNIQUE INDEX queue_slots_reviewer ON queue_slots (queue_id, conversation_id, reviewer)
    WHERE reviewer IS NOT NULL;
CREATE TABLE queue_answers (
    queue_id bigint NOT NULL,
    conversation_id text NOT NULL,
    reviewer text NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    answered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue_id, conversation_id, reviewer, question),
    FOREIGN KEY (queue_id, conversation_id) REFERENCES queue_items ON DELETE CASCADE
);
CREATE TABLE queue_scores (
    queue_id bigint NOT NULL,
    conversation_id text NOT NULL,
    reviewer text NOT NULL,
    score double precision,
    scored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue_id, conversation_id, reviewer),
    FOREIGN KEY (queue_id, conversation_id) REFERENCES queue_items ON DELETE CASCADE
);
"#,
    r#"
-- Review marks shared by the team (`team::store`). Every change is appended to mark_changes
-- (never updated or deleted); marks holds each field's winning value by the domain's rule (newest
-- at_ms, ties by reviewer then value). change_id is the writer's own id for the change, so a
-- resend after a lost acknowledgement is not applied twice. Writers take one advisory lock per
-- transaction, so seq order is commit order and a reader's "after seq N" misses nothing.
CREATE TABLE mark_changes (
    seq bigserial PRIMARY KEY,
    change_id text NOT NULL UNIQUE,
    origin text NOT NULL,
    account text NOT NULL,
    project text NOT NULL,
    environment text NOT NULL,
    conversation_id text NOT NULL,
    field text NOT NULL,
    before text,
    after text,
    reviewer text NOT NULL,
    at_ms bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mark_changes_conversation ON mark_changes (account, project, environment, conversation_id);
CREATE TABLE marks (
    account text NOT NULL,
    project text NOT NULL,
    environment text NOT NULL,
    conversation_id text NOT NULL,
    field text NOT NULL,
    -- NULL: cleared (status new, no note, flag off, turn unrated).
    value text,
    reviewer text NOT NULL,
    at_ms bigint NOT NULL,
    PRIMARY KEY (account, project, environment, conversation_id, field)
);
-- Scorecard saves, append-only like the local store's: the newest of a (conversation, scorecard,
-- reviewer) is current.
CREATE TABLE scores (
    seq bigserial PRIMARY KEY,
    change_id text NOT NULL UNIQUE,
    origin text NOT NULL,
    account text NOT NULL,
    project text NOT NULL,
    environment text NOT NULL,
    conversation_id text NOT NULL,
    scorecard text NOT NULL,
    reviewer text NOT NULL,
    at_ms bigint NOT NULL,
    answers text NOT NULL,
    score double precision,
    auto_failed boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
"#,
];

/// The version this build writes.
pub const LATEST: i32 = MIGRATIONS.len() as i32;

/// What `team init` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    Created,
    Migrated { from: i32 },
    Current,
}

/// Creates or migrates the schema to [`LATEST`].
pub async fn init(client: &mut tokio_postgres::Client) -> Result<(InitOutcome, i32)> {
    let tx = client.transaction().await.context("cannot start a transaction")?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7300114);
         CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL);",
    )
    .await
    .context("cannot create schema_version (does this user have CREATE on the database?)")?;
    let current: Option<i32> = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await?
        .map(|r| r.get(0));
    let from = current.unwrap_or(0);
    if from > LATEST {
        bail!(too_new(from));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql)
            .await
            .with_context(|| format!("migration to schema version {} failed", i + 1))?;
    }
    if current.is_none() {
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&LATEST])
            .await?;
    } else {
        tx.execute("UPDATE schema_version SET version = $1", &[&LATEST]).await?;
    }
    tx.commit().await.context("cannot commit the schema")?;
    let outcome = match current {
        None | Some(0) => InitOutcome::Created,
        Some(v) if v < LATEST => InitOutcome::Migrated { from: v },
        Some(_) => InitOutcome::Current,
    };
    Ok((outcome, LATEST))
}

fn too_new(found: i32) -> String {
    format!(
        "the team database has schema version {found}, newer than this callscope knows ({LATEST}): \
         upgrade callscope (a teammate has a newer one)"
    )
}

/// The schema version, checked: every command but `team init` refuses a database not at [`LATEST`].
pub async fn version(client: &tokio_postgres::Client) -> Result<i32> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        bail!("the team database has no callscope schema yet: run `callscope team init`");
    }
    let v: Option<i32> = client
        .query_opt("SELECT version FROM schema_version", &[])
        .await?
        .map(|r| r.get(0));
    match v {
        Some(v) if v == LATEST => Ok(v),
        Some(v) if v > LATEST => bail!(too_new(v)),
        Some(v) => bail!(
            "the team database has schema version {v}, this callscope needs {LATEST}: run `callscope team init` to migrate it"
        ),
        None => bail!("the team database has no callscope schema yet: run `callscope team init`"),
    }
}
