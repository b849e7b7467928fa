//! The SQL of each schema version. Old versions stay here unchanged: migrations replay them in order.

/// v1: the conversation cache alone (what early builds wrote).
pub const V1: &str = "
CREATE TABLE conversations (
    pk             INTEGER PRIMARY KEY,  -- explicit so VACUUM never renumbers it (turn_fts rowids derive from it)
    account        TEXT NOT NULL,
    project        TEXT NOT NULL,
    environment    TEXT NOT NULL,
    id             TEXT NOT NULL,
    started_at     INTEGER NOT NULL,   -- unix ms; 0 when unknown
    channel        TEXT NOT NULL,
    total_duration INTEGER,            -- seconds
    num_turns      INTEGER,
    handoff        INTEGER NOT NULL,
    in_progress    INTEGER NOT NULL,
    wire           TEXT NOT NULL,      -- the API's JSON, as serialized by api::Conversation
    fetched_at     INTEGER NOT NULL,   -- unix ms
    UNIQUE (account, project, environment, id)
);
-- The list query: one account/project/env, newest (or oldest) first, keyset on (started_at, id).
CREATE INDEX conversations_list ON conversations (account, project, environment, started_at, id);
";

/// v2: transcript-derived columns, intents, full-text search and review marks.
pub const V2: &str = "
ALTER TABLE conversations ADD COLUMN has_transcript INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN transcript_hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN max_latency REAL;  -- seconds, the slowest agent response

-- All environments of a project at once (export, views without an env).
CREATE INDEX conversations_by_project ON conversations (account, project, started_at, id);

CREATE TABLE conversation_intents (
    conv   INTEGER NOT NULL,  -- conversations.pk
    intent TEXT NOT NULL,
    PRIMARY KEY (intent, conv)
) WITHOUT ROWID;
CREATE INDEX conversation_intents_by_conv ON conversation_intents (conv);

-- One row per spoken turn side; rowid = conversations.pk << 16 | turn << 1 | speaker (0 user, 1 agent),
-- so a conversation's rows are one rowid range (cheap to replace, cheap to search within).
CREATE VIRTUAL TABLE turn_fts USING fts5(
    text,
    tokenize = 'unicode61 remove_diacritics 2 categories ''L* N* Co So'''
);

-- Review marks are keyed like the cache but live apart from it: marks can exist (e.g. imported)
-- for conversations that are not cached, and refreshing the cache never touches them.
CREATE TABLE conversation_marks (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('new', 'reviewed', 'needs_follow_up')),
    note        TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account, project, environment, id)
);
CREATE TABLE conversation_flags (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    code        TEXT NOT NULL,
    PRIMARY KEY (account, project, environment, id, code)
);
CREATE TABLE turn_ratings (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    turn        INTEGER NOT NULL,
    thumbs      INTEGER NOT NULL CHECK (thumbs IN (-1, 1)),
    reason      TEXT,
    comment     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, project, environment, id, turn)
);
";

/// v3: what `marks push` sent to Agent Studio, so nothing is sent twice. One row per note
/// (replaced when a changed note is sent) and one per annotation.
pub const V3: &str = "
CREATE TABLE pushed_marks (
    account      TEXT NOT NULL,
    project      TEXT NOT NULL,
    environment  TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('note', 'annotation')),
    content_hash TEXT NOT NULL,   -- SHA-256 (hex) of what was sent
    pushed_at    INTEGER NOT NULL, -- unix ms
    PRIMARY KEY (account, project, environment, id, kind, content_hash)
);
";

/// v4: what the filter words `polyscore<N`/`>N`, `tag:`, `topic:`, `function:` and `safety` test,
/// kept beside the cached JSON at upsert time so they are index lookups instead of JSON scans.
pub const V4: &str = "
ALTER TABLE conversations ADD COLUMN poly_score REAL;
-- Partial: unscored calls (most of them) cost nothing here.
CREATE INDEX conversations_poly_score ON conversations (account, project, environment, poly_score)
    WHERE poly_score IS NOT NULL;

-- One row per label of a conversation: kind 0 a tag, 1 a retrieved topic, 2 a called function's
-- name, 3 a safety filter that fired. NOCASE: the filter words ignore ASCII case.
CREATE TABLE conversation_labels (
    kind  INTEGER NOT NULL,
    label TEXT NOT NULL COLLATE NOCASE,
    conv  INTEGER NOT NULL,  -- conversations.pk
    PRIMARY KEY (kind, label, conv)
) WITHOUT ROWID;
CREATE INDEX conversation_labels_by_conv ON conversation_labels (conv, kind);
";

/// The v4 backfill, in SQL over the cached JSON (a row whose JSON is not valid gets nothing).
pub const V4_BACKFILL: &str = "
UPDATE conversations SET poly_score = json_extract(wire, '$.poly_score')
    WHERE json_valid(wire) AND json_type(wire, '$.poly_score') IN ('integer', 'real');
INSERT OR IGNORE INTO conversation_labels (kind, label, conv)
    SELECT 0, j.value, c.pk FROM conversations c, json_each(c.wire, '$.tags') j
    WHERE json_valid(c.wire) AND j.type = 'text';
INSERT OR IGNORE INTO conversation_labels (kind, label, conv)
    SELECT 1, j.value, c.pk FROM conversations c, json_each(c.wire, '$.turns') t,
        json_each(t.value, '$.retrieved_topics') j
    WHERE json_valid(c.wire) AND j.type = 'text';
INSERT OR IGNORE INTO conversation_labels (kind, label, conv)
    SELECT 2, j.value ->> '$.name', c.pk FROM conversations c, json_each(c.wire, '$.turns') t,
        json_each(t.value, '$.function_events') j
    WHERE json_valid(c.wire) AND json_type(j.value, '$.name') = 'text';
INSERT OR IGNORE INTO conversation_labels (kind, label, conv)
    SELECT 3, j.value, c.pk FROM conversations c, json_each(c.wire, '$.turns') t,
        json_each(t.value, '$.safety_filters') j
    WHERE json_valid(c.wire) AND j.type = 'text';
";

/// v5: what the stats view aggregates, derived on upsert so no figure parses JSON: the handoff
/// reason and variant as columns (PolyScore is v4's), one covering index for the per-call scan,
/// and per-turn latencies as a table (replaced with the transcript). Topics are v4's labels.
pub const V5: &str = "
ALTER TABLE conversations ADD COLUMN handoff_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN variant TEXT NOT NULL DEFAULT '';

-- Every per-call figure of a window is one scan of this index (no table rows read).
CREATE INDEX conversations_stats ON conversations (account, project, environment, started_at,
    channel, handoff, in_progress, transcript_hidden, has_transcript, handoff_reason, variant, poly_score);

CREATE TABLE turn_latencies (
    conv    INTEGER NOT NULL,  -- conversations.pk
    turn    INTEGER NOT NULL,
    latency REAL NOT NULL,     -- seconds
    PRIMARY KEY (conv, turn)
) WITHOUT ROWID;

-- Backfill from the cached JSON (a row whose JSON does not parse keeps the defaults).
UPDATE conversations SET
    handoff_reason = coalesce(wire ->> '$.handoff_reason', ''),
    variant = coalesce(wire ->> '$.variant_id', '')
WHERE json_valid(wire);
INSERT OR IGNORE INTO turn_latencies (conv, turn, latency)
    SELECT c.pk, t.key, t.value ->> '$.latency' FROM conversations c, json_each(c.wire, '$.turns') t
    WHERE json_valid(c.wire) AND t.type = 'object' AND json_type(t.value, '$.latency') IN ('integer', 'real');
";

/// v6: who changed which mark when, append-only (triggers refuse updates and deletes). One row
/// per field change; `field` is `status`, `note`, `flag:CODE`, `turn:N` or `score:CARD`, and
/// `before`/`after` its values (NULL: unset). `at_ms` is when the reviewer made the change
/// (an imported change keeps its author's time); `recorded_at` when this store wrote it.
/// Marks from before v6 get one row per current field, by reviewer 'unknown' at their last change.
pub const V6_HISTORY: &str = "
CREATE TABLE mark_history (
    seq         INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    field       TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    reviewer    TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX mark_history_by_key ON mark_history (account, project, environment, id, at_ms);
CREATE TRIGGER mark_history_no_update BEFORE UPDATE ON mark_history
    BEGIN SELECT RAISE(ABORT, 'mark history is append-only'); END;
CREATE TRIGGER mark_history_no_delete BEFORE DELETE ON mark_history
    BEGIN SELECT RAISE(ABORT, 'mark history is append-only'); END;

INSERT INTO mark_history (account, project, environment, id, field, after, reviewer, at_ms, recorded_at)
    SELECT account, project, environment, id, 'status', status, 'unknown', updated_at, updated_at
    FROM conversation_marks WHERE status <> 'new';
INSERT INTO mark_history (account, project, environment, id, field, after, reviewer, at_ms, recorded_at)
    SELECT account, project, environment, id, 'note', note, 'unknown', updated_at, updated_at
    FROM conversation_marks WHERE note <> '';
INSERT INTO mark_history (account, project, environment, id, field, after, reviewer, at_ms, recorded_at)
    SELECT f.account, f.project, f.environment, f.id, 'flag:' || f.code, 'set', 'unknown',
        coalesce(m.updated_at, 0), coalesce(m.updated_at, 0)
    FROM conversation_flags f LEFT JOIN conversation_marks m USING (account, project, environment, id);
-- The rating as serde writes a TurnRating: thumbs, then reason and comment when present.
INSERT INTO mark_history (account, project, environment, id, field, after, reviewer, at_ms, recorded_at)
    SELECT t.account, t.project, t.environment, t.id, 'turn:' || t.turn,
        CASE
            WHEN t.reason IS NULL AND t.comment = '' THEN json_object('thumbs', r.thumbs)
            WHEN t.reason IS NULL THEN json_object('thumbs', r.thumbs, 'comment', t.comment)
            WHEN t.comment = '' THEN json_object('thumbs', r.thumbs, 'reason', t.reason)
            ELSE json_object('thumbs', r.thumbs, 'reason', t.reason, 'comment', t.comment)
        END,
        'unknown', coalesce(m.updated_at, 0), coalesce(m.updated_at, 0)
    FROM turn_ratings t
    JOIN (SELECT 1 AS v, 'up' AS thumbs UNION ALL SELECT -1, 'down') r ON r.v = t.thumbs
    LEFT JOIN conversation_marks m USING (account, project, environment, id);
";

/// v7: saved scorecards, append-only: each save is a row, the current score of a
/// (conversation, scorecard, reviewer) is its newest row (highest `seq`). Keyed like the marks,
/// apart from the cache. `answers` is JSON: question id → {answer, comment?, turn?}.
pub const V7_SCORES: &str = "
CREATE TABLE scores (
    seq         INTEGER PRIMARY KEY,  -- save order: the newest row of a triple is current
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    scorecard   TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,     -- unix ms
    answers     TEXT NOT NULL,
    score       REAL CHECK (score IS NULL OR score BETWEEN 0 AND 100),
    auto_failed INTEGER NOT NULL CHECK (auto_failed IN (0, 1))
);
-- A conversation's scores, and the newest of each triple, are one range of this index.
CREATE INDEX scores_by_key ON scores (account, project, environment, id, scorecard, reviewer, seq);
";

/// v8: each fact stored once. The search index becomes external-content over `turn_text` (v2–v5
/// kept a second copy of every text inside FTS5, beside the cached JSON); new rows' JSON leaves
/// out what the columns and `turn_text` hold (see `cache::wire`; older rows keep their JSON until
/// their next refresh). The list index takes the stats columns, so one index serves both
/// (one index less to maintain per cached call).
pub const V8_COMPACT_CACHE: &str = "
CREATE TABLE turn_text (
    id   INTEGER PRIMARY KEY,  -- the search rowid: conversations.pk << 16 | turn << 1 | speaker
    text TEXT NOT NULL         -- as indexed: controls dropped, CJK and emoji segmented (see text.rs)
);
INSERT INTO turn_text (id, text) SELECT rowid, text FROM turn_fts;
DROP TABLE turn_fts;
CREATE VIRTUAL TABLE turn_fts USING fts5(
    text,
    content = 'turn_text',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2 categories ''L* N* Co So'''
);
INSERT INTO turn_fts (turn_fts) VALUES ('rebuild');

DROP INDEX conversations_list;
DROP INDEX conversations_stats;
-- The list (keyset on started_at, id) and every per-call stats figure (no table rows read).
CREATE INDEX conversations_list ON conversations (account, project, environment, started_at, id,
    channel, handoff, in_progress, transcript_hidden, has_transcript, handoff_reason, variant, poly_score);
";

/// v9: per-hour aggregates of the stats figures (`store::stats_hours`), the hours whose
/// aggregate a cache write made stale (marked by triggers, so the write path makes no call),
/// and the time ranges completed API walks covered (`store::stats_covered`).
pub const V9_STATS_HOURS: &str = "
CREATE TABLE stats_hours (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    hour        INTEGER NOT NULL,  -- unix ms of a UTC hour's start
    variant     TEXT NOT NULL,
    cell        BLOB NOT NULL,     -- stats_hours::encode
    UNIQUE (account, project, environment, hour, variant)
);
CREATE TABLE stats_dirty (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    hour        INTEGER NOT NULL,
    PRIMARY KEY (account, project, environment, hour)
) WITHOUT ROWID;
CREATE TABLE stats_covered (
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    since_ms    INTEGER NOT NULL,
    until_ms    INTEGER NOT NULL,
    PRIMARY KEY (account, project, environment, since_ms)
) WITHOUT ROWID;

-- The hour of a start time, floored. Not INSERT OR IGNORE: in a trigger the outer statement's
-- conflict policy (the cache's upsert: ABORT) would override it.
CREATE TRIGGER stats_dirty_on_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO stats_dirty SELECT NEW.account, NEW.project, NEW.environment, h FROM
        (SELECT NEW.started_at - ((NEW.started_at % 3600000) + 3600000) % 3600000 AS h)
        WHERE NOT EXISTS (SELECT 1 FROM stats_dirty WHERE account = NEW.account AND project = NEW.project
            AND environment = NEW.environment AND hour = h);
END;
CREATE TRIGGER stats_dirty_on_update AFTER UPDATE ON conversations BEGIN
    INSERT INTO stats_dirty SELECT OLD.account, OLD.project, OLD.environment, h FROM
        (SELECT OLD.started_at - ((OLD.started_at % 3600000) + 3600000) % 3600000 AS h)
        WHERE NOT EXISTS (SELECT 1 FROM stats_dirty WHERE account = OLD.account AND project = OLD.project
            AND environment = OLD.environment AND hour = h);
    INSERT INTO stats_dirty SELECT NEW.account, NEW.project, NEW.environment, h FROM
        (SELECT NEW.started_at - ((NEW.started_at % 3600000) + 3600000) % 3600000 AS h)
        WHERE NOT EXISTS (SELECT 1 FROM stats_dirty WHERE account = NEW.account AND project = NEW.project
            AND environment = NEW.environment AND hour = h);
END;
CREATE TRIGGER stats_dirty_on_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO stats_dirty SELECT OLD.account, OLD.project, OLD.environment, h FROM
        (SELECT OLD.started_at - ((OLD.started_at % 3600000) + 3600000) % 3600000 AS h)
        WHERE NOT EXISTS (SELECT 1 FROM stats_dirty WHERE account = OLD.account AND project = OLD.project
            AND environment = OLD.environment AND hour = h);
END;

-- Every hour already cached is computed on first use.
INSERT OR IGNORE INTO stats_dirty
    SELECT DISTINCT account, project, environment, started_at - ((started_at % 3600000) + 3600000) % 3600000
    FROM conversations;
";

/// The team store's local side (`team::store`): changes waiting for the team database (the
/// outbox, in the order they were made; AUTOINCREMENT so a sent row's number is never reused,
/// since it is part of the change's id there), and this store's origin id and read positions.
pub const V10_TEAM_OUTBOX: &str = "
CREATE TABLE team_outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    id          TEXT NOT NULL,
    -- The change as JSON (`store::outbox::OutboxItem`).
    item        TEXT NOT NULL
);
CREATE TABLE team_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO team_meta (name, value) VALUES ('origin', lower(hex(randomblob(16))));
";

/// v11: the cache's write path marks the stale hours itself, once per batch (`CacheBatch::flush`),
/// instead of two triggers that looked up and inserted into `stats_dirty` for every row written
/// (a third of a bulk summary write). Deletes keep their trigger: only hand edits delete rows.
pub const V11_DIRTY_PER_BATCH: &str = "
DROP TRIGGER stats_dirty_on_insert;
DROP TRIGGER stats_dirty_on_update;
";

/// v12: the cache's rows carry their account, project and environment as one small integer
/// (`origins`) instead of three texts. Every key and list index of the cache began with those
/// texts (about 28 bytes each time); as integers the bulk summary write keeps up with fetching
/// and each row is smaller. `project_no` is the same for every environment of a project (the
/// smallest `origin` among them), for the all-environments order. `conversations` becomes a view
/// with the texts joined back, so readers keep their SQL; the write path uses the table.
pub const V12_ORIGIN_IDS: &str = "
CREATE TABLE origins (
    origin      INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    project     TEXT NOT NULL,
    environment TEXT NOT NULL,
    project_no  INTEGER NOT NULL,
    UNIQUE (account, project, environment)
);
INSERT INTO origins (account, project, environment, project_no)
    SELECT DISTINCT account, project, environment, 0 FROM conversations ORDER BY 1, 2, 3;
UPDATE origins SET project_no =
    (SELECT min(o.origin) FROM origins o WHERE o.account = origins.account AND o.project = origins.project);

CREATE TABLE conversation_rows (
    pk                INTEGER PRIMARY KEY,  -- explicit so VACUUM never renumbers it (turn_fts rowids derive from it)
    origin            INTEGER NOT NULL,     -- origins.origin
    project_no        INTEGER NOT NULL,     -- origins.project_no
    id                TEXT NOT NULL,
    started_at        INTEGER NOT NULL,     -- unix ms; 0 when unknown
    channel           TEXT NOT NULL,
    total_duration    INTEGER,              -- seconds
    num_turns         INTEGER,
    handoff           INTEGER NOT NULL,
    in_progress       INTEGER NOT NULL,
    wire              TEXT NOT NULL,        -- the stored JSON (see cache::wire)
    fetched_at        INTEGER NOT NULL,     -- unix ms
    has_transcript    INTEGER NOT NULL DEFAULT 0,
    transcript_hidden INTEGER NOT NULL DEFAULT 0,
    max_latency       REAL,                 -- seconds, the slowest agent response
    poly_score        REAL,
    handoff_reason    TEXT NOT NULL DEFAULT '',
    variant           TEXT NOT NULL DEFAULT '',
    UNIQUE (origin, id)
);
INSERT INTO conversation_rows (pk, origin, project_no, id, started_at, channel, total_duration, num_turns,
        handoff, in_progress, wire, fetched_at, has_transcript, transcript_hidden, max_latency, poly_score,
        handoff_reason, variant)
    SELECT c.pk, o.origin, o.project_no, c.id, c.started_at, c.channel, c.total_duration, c.num_turns,
        c.handoff, c.in_progress, c.wire, c.fetched_at, c.has_transcript, c.transcript_hidden, c.max_latency,
        c.poly_score, c.handoff_reason, c.variant
    FROM conversations c JOIN origins o USING (account, project, environment)
    ORDER BY c.pk;
-- Its indexes and its delete trigger go with it.
DROP TABLE conversations;

-- The list (keyset on started_at, id) and every per-call stats figure (no table rows read).
CREATE INDEX conversations_list ON conversation_rows (origin, started_at, id,
    channel, handoff, in_progress, transcript_hidden, has_transcript, handoff_reason, variant, poly_score);
-- All environments of a project at once (export, views without an env).
CREATE INDEX conversations_by_project ON conversation_rows (project_no, started_at, id);
-- Partial: unscored calls (most of them) cost nothing here.
CREATE INDEX conversations_poly_score ON conversation_rows (origin, poly_score) WHERE poly_score IS NOT NULL;

CREATE VIEW conversations AS
    SELECT r.pk, o.account, o.project, o.environment, r.id, r.started_at, r.channel, r.total_duration,
        r.num_turns, r.handoff, r.in_progress, r.wire, r.fetched_at, r.has_transcript, r.transcript_hidden,
        r.max_latency, r.poly_score, r.handoff_reason, r.variant, r.origin, r.project_no
    FROM conversation_rows r JOIN origins o ON o.origin = r.origin;

-- Only hand edits delete cached rows; through the view too.
CREATE TRIGGER conversations_delete INSTEAD OF DELETE ON conversations BEGIN
    DELETE FROM conversation_rows WHERE pk = OLD.pk;
END;
CREATE TRIGGER stats_dirty_on_delete AFTER DELETE ON conversation_rows BEGIN
    INSERT INTO stats_dirty SELECT o.account, o.project, o.environment, h FROM origins o,
        (SELECT OLD.started_at - ((OLD.started_at % 3600000) + 3600000) % 3600000 AS h)
        WHERE o.origin = OLD.origin AND NOT EXISTS (SELECT 1 FROM stats_dirty d WHERE d.account = o.account
            AND d.project = o.project AND d.environment = o.environment AND d.hour = h);
END;
";
