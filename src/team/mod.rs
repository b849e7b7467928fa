//! The team store on PostgreSQL: review queues sampled from a window, claims with leases, and
//! scorecard answers, shared by every reviewer of a project. The conversation cache and search
//! stay local (SQLite); this module only holds what a team shares.
//!
//! Queues and claims have a small concrete API ([`Team`]); marks, their history and scores go
//! through the `ReviewStore` seam as [`store::TeamStore`], around the local SQLite store, which
//! reads teammates' changes a page at a time ([`pull`]).

pub mod agreement;
pub mod claims;
pub mod conn;
pub mod pull;
pub mod sample;
pub mod schema;
pub mod store;
pub mod tls;
pub use crate::domain::scorecard;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use tokio_postgres::error::SqlState;

use claims::{CLAIMS_CHANNEL, claims_payload};
pub use conn::TeamSection;
use scorecard::{Answer, Scorecard};

use crate::config::EnvLookup;

/// How long a claim holds an item without renewal.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);

/// Who is reviewing: `--reviewer`, else `CALLSCOPE_REVIEWER`, else `reviewer` in the config,
/// else user@host.
pub fn reviewer(flag: Option<&str>, env: EnvLookup, file: Option<&str>) -> Result<String> {
    let name = flag
        .map(str::to_string)
        .or_else(|| env("CALLSCOPE_REVIEWER"))
        .or_else(|| file.map(str::to_string))
        .unwrap_or_else(default_reviewer);
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        bail!("a reviewer name must be 1–200 printable characters, e.g. alice@acme");
    }
    Ok(name)
}

fn default_reviewer() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "reviewer".into());
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let host = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

/// A queue as created.
#[derive(Debug, Clone)]
pub struct NewQueue {
    pub name: String,
    pub created_by: String,
    pub recipe: String,
    pub scorecard: Scorecard,
    pub reviewers_per_item: u32,
    pub assignees: Vec<String>,
    pub items: Vec<sample::Item>,
}

/// A queue as stored.
#[derive(Debug, Clone)]
pub struct Queue {
    pub id: i64,
    pub name: String,
    pub scorecard: Scorecard,
    pub reviewers_per_item: u32,
    pub assignees: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueSummary {
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub scorecard: String,
    pub items: i64,
    pub reviewers_per_item: i32,
    pub reviews_done: i64,
    pub recipe: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewerStatus {
    pub reviewer: String,
    pub done: i64,
    pub in_progress: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionAgreement {
    pub question: String,
    #[serde(flatten)]
    pub agreement: Option<agreement::Agreement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub queue: String,
    pub scorecard: String,
    pub items: i64,
    pub reviewers_per_item: i32,
    pub reviews_wanted: i64,
    pub reviews_done: i64,
    pub items_done: i64,
    pub reviewers: Vec<ReviewerStatus>,
    pub questions: Vec<QuestionAgreement>,
}

/// The same reviewer claimed one item's two slots at once (the unique index refused one).
fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// The team database, connected and at the current schema version.
pub struct Team {
    client: tokio_postgres::Client,
}

impl Team {
    /// Connects and checks the schema version (`team init` uses [`Team::connect_unchecked`]).
    pub async fn open(section: &TeamSection, env: EnvLookup<'_>) -> Result<Team> {
        let team = Self::connect_unchecked(section, env).await?;
        schema::version(&team.client).await?;
        Ok(team)
    }

    pub async fn connect_unchecked(section: &TeamSection, env: EnvLookup<'_>) -> Result<Team> {
        Ok(Team {
            client: conn::connect(section, env).await?,
        })
    }

    pub async fn init(&mut self) -> Result<(schema::InitOutcome, i32)> {
        schema::init(&mut self.client).await
    }

    /// The connection's TLS state, as the server reports it (for `doctor`).
    pub async fn tls_state(&self, section: &TeamSection) -> Result<String> {
        let url = section.database.as_deref().unwrap_or_default();
        conn::tls_state(&self.client, &conn::Target::parse(url)?).await
    }

    pub async fn version(&self) -> Result<i32> {
        schema::version(&self.client).await
    }

    pub async fn create_queue(&mut self, q: &NewQueue) -> Result<i64> {
        let tx = self.client.transaction().await?;
        let rpi = i32::try_from(q.reviewers_per_item).unwrap_or(i32::MAX);
        let row = tx
            .query_opt(
                "INSERT INTO queues (name, created_by, recipe, scorecard, scorecard_def, reviewers_per_item, assignees)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING RETURNING id",
                &[
                    &q.name,
                    &q.created_by,
                    &q.recipe,
                    &q.scorecard.name,
                    &q.scorecard.to_json(),
                    &rpi,
                    &q.assignees,
                ],
            )
            .await?;
        let Some(row) = row else {
            bail!("a queue called {} exists already: pick another name", q.name);
        };
        let id: i64 = row.get(0);
        let positions: Vec<i32> = (0..q.items.len() as i32).collect();
        let ids: Vec<&str> = q.items.iter().map(|i| i.id.as_str()).collect();
        let strata: Vec<&str> = q.items.iter().map(|i| i.stratum.as_str()).collect();
        let started: Vec<&str> = q.items.iter().map(|i| i.started_at.as_str()).collect();
        tx.execute(
            "INSERT INTO queue_items (queue_id, position, conversation_id, stratum, started_at)
             SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])",
            &[&id, &positions, &ids, &strata, &started],
        )
        .await?;
        tx.execute(
            "INSERT INTO queue_slots (queue_id, conversation_id, slot, position)
             SELECT i.queue_id, i.conversation_id, s, i.position
             FROM queue_items i, generate_series(0, $2 - 1) s WHERE i.queue_id = $1",
            &[&id, &rpi],
        )
        .await?;
        tx.execute("SELECT pg_notify($1, $2)", &[&CLAIMS_CHANNEL, &claims_payload(id)])
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn queue(&self, name: &str) -> Result<Queue> {
        let row = self
            .client
            .query_opt(
                "SELECT id, scorecard, scorecard_def, reviewers_per_item, assignees FROM queues WHERE name = $1",
                &[&name],
            )
            .await?;
        let Some(row) = row else {
            let names: Vec<String> = self
                .client
                .query("SELECT name FROM queues ORDER BY created_at DESC LIMIT 20", &[])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            bail!(
                "no queue called {name:?}{}",
                if names.is_empty() {
                    "; create one with `callscope queue create NAME --since 24h --sample 50`".to_string()
                } else {
                    format!("; queues: {}", names.join(", "))
                }
            );
        };
        let card_name: String = row.get(1);
        let def: String = row.get(2);
        Ok(Queue {
            id: row.get(0),
            name: name.to_string(),
            scorecard: Scorecard::from_json(&card_name, &def).map_err(|e| anyhow!(e))?,
            reviewers_per_item: row.get::<_, i32>(3).max(1) as u32,
            assignees: row.get(4),
        })
    }

    pub async fn queues(&self) -> Result<Vec<QueueSummary>> {
        let rows = self
            .client
            .query(
                "SELECT q.name, to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        q.created_by, q.scorecard, q.reviewers_per_item, q.recipe,
                        (SELECT count(*) FROM queue_items i WHERE i.queue_id = q.id),
                        (SELECT count(*) FROM queue_slots s WHERE s.queue_id = q.id AND s.done_at IS NOT NULL)
                 FROM queues q ORDER BY q.created_at, q.id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| QueueSummary {
                name: r.get(0),
                created_at: r.get(1),
                created_by: r.get(2),
                scorecard: r.get(3),
                reviewers_per_item: r.get(4),
                recipe: r.get(5),
                items: r.get(6),
                reviews_done: r.get(7),
            })
            .collect())
    }

    /// Claims the next item this reviewer has not reviewed whose slot nobody holds (free, or its
    /// lease ran out), for `lease`. `None`: nothing left for this reviewer.
    pub async fn claim(&self, queue: &Queue, reviewer: &str, lease: Duration) -> Result<Option<String>> {
        if !queue.assignees.is_empty() && !queue.assignees.iter().any(|a| a == reviewer) {
            bail!(
                "queue {} is assigned to {}; you are {reviewer} (set `reviewer` in the config, or --reviewer)",
                queue.name,
                queue.assignees.join(", ")
            );
        }
        let secs = lease.as_secs_f64();
        // Free slots in queue order first, then slots whose lease ran out (oldest first).
        for pick in [
            "c.reviewer IS NULL ORDER BY c.position, c.slot",
            "c.reviewer IS NOT NULL AND c.lease_until < now() ORDER BY c.lease_until",
        ] {
            let sql = format!(
                "UPDATE queue_slots s SET reviewer = $2, claimed_at = now(),
                        lease_until = now() + make_interval(secs => $3)
                 FROM (SELECT c.queue_id, c.conversation_id, c.slot FROM queue_slots c
                       WHERE c.queue_id = $1 AND c.done_at IS NULL
                         AND NOT EXISTS (SELECT 1 FROM queue_slots o
                                         WHERE o.queue_id = c.queue_id AND o.conversation_id = c.conversation_id
                                           AND o.slot <> c.slot AND o.reviewer = $2)
                         AND {pick} LIMIT 1
                       FOR UPDATE SKIP LOCKED) pick
                 WHERE s.queue_id = pick.queue_id AND s.conversation_id = pick.conversation_id
                   AND s.slot = pick.slot
                 RETURNING s.conversation_id"
            );
            // One statement, so the claim and its announcement commit together.
            let sql = format!("WITH claimed AS ({sql}) SELECT conversation_id, pg_notify($4, $5) FROM claimed");
            let payload = claims_payload(queue.id);
            for _ in 0..5 {
                match self
                    .client
                    .query_opt(&sql, &[&queue.id, &reviewer, &secs, &CLAIMS_CHANNEL, &payload])
                    .await
                {
                    Ok(Some(row)) => return Ok(Some(row.get(0))),
                    Ok(None) => break,
                    // The same reviewer claiming from two processes at once hit the same item:
                    // the unique index refused the second; try again.
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e).context("claim failed"),
                }
            }
        }
        Ok(None)
    }

    /// Finishes the reviewer's claim on `id`, with the scorecard answers (none, or a complete
    /// form). Returns the score.
    pub async fn done(
        &mut self,
        queue: &Queue,
        id: &str,
        reviewer: &str,
        answers: &BTreeMap<String, Answer>,
    ) -> Result<Option<f64>> {
        let outcome = queue.scorecard.score(answers);
        if !answers.is_empty() && !outcome.missing.is_empty() {
            bail!(
                "scorecard {} needs answers to {} too",
                queue.scorecard.name,
                outcome.missing.join(", ")
            );
        }
        let tx = self.client.transaction().await?;
        let done = tx
            .query_opt(
                "UPDATE queue_slots SET done_at = now(), lease_until = NULL
                 WHERE queue_id = $1 AND conversation_id = $2 AND reviewer = $3 AND done_at IS NULL
                 RETURNING slot",
                &[&queue.id, &id, &reviewer],
            )
            .await?;
        if done.is_none() {
            let mine = tx
                .query_opt(
                    "SELECT done_at IS NOT NULL FROM queue_slots WHERE queue_id = $1 AND conversation_id = $2 AND reviewer = $3",
                    &[&queue.id, &id, &reviewer],
                )
                .await?;
            let in_queue = tx
                .query_opt(
                    "SELECT 1 FROM queue_items WHERE queue_id = $1 AND conversation_id = $2",
                    &[&queue.id, &id],
                )
                .await?
                .is_some();
            bail!(match (in_queue, mine.map(|r| r.get::<_, bool>(0))) {
                (false, _) => format!("{id} is not in queue {}", queue.name),
                (true, Some(true)) => format!("you ({reviewer}) have finished {id} in queue {} already", queue.name),
                _ => format!(
                    "you ({reviewer}) hold no claim on {id} in queue {}: claim it first (callscope queue claim {}), \
                     or your lease ran out and another reviewer took it",
                    queue.name, queue.name
                ),
            });
        }
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&CLAIMS_CHANNEL, &claims_payload(queue.id)],
        )
        .await?;
        let score = if answers.is_empty() { None } else { outcome.score };
        if !answers.is_empty() {
            for (question, answer) in answers {
                tx.execute(
                    "INSERT INTO queue_answers (queue_id, conversation_id, reviewer, question, answer)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (queue_id, conversation_id, reviewer, question)
                     DO UPDATE SET answer = EXCLUDED.answer, answered_at = now()",
                    &[&queue.id, &id, &reviewer, question, &answer.as_text()],
                )
                .await?;
            }
            tx.execute(
                "INSERT INTO queue_scores (queue_id, conversation_id, reviewer, score) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (queue_id, conversation_id, reviewer) DO UPDATE SET score = EXCLUDED.score, scored_at = now()",
                &[&queue.id, &id, &reviewer, &score],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(score)
    }

    pub async fn status(&self, queue: &Queue) -> Result<Status> {
        let totals = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM queue_items WHERE queue_id = $1),
                        count(*), count(done_at),
                        (SELECT count(*) FROM (SELECT conversation_id FROM queue_slots WHERE queue_id = $1
                                               GROUP BY conversation_id HAVING bool_and(done_at IS NOT NULL)) d)
                 FROM queue_slots WHERE queue_id = $1",
                &[&queue.id],
            )
            .await?;
        let reviewers = self
            .client
            .query(
                "SELECT reviewer, count(done_at), count(*) FILTER (WHERE done_at IS NULL AND lease_until >= now())
                 FROM queue_slots WHERE queue_id = $1 AND reviewer IS NOT NULL
                 GROUP BY reviewer ORDER BY reviewer",
                &[&queue.id],
            )
            .await?
            .iter()
            .map(|r| ReviewerStatus {
                reviewer: r.get(0),
                done: r.get(1),
                in_progress: r.get(2),
            })
            .filter(|r| r.done > 0 || r.in_progress > 0)
            .collect();
        let rows = self
            .client
            .query(
                "SELECT question, conversation_id, reviewer, answer FROM queue_answers WHERE queue_id = $1
                 ORDER BY question, conversation_id, reviewer",
                &[&queue.id],
            )
            .await?;
        let mut by_question: BTreeMap<String, BTreeMap<String, Vec<(String, String)>>> = BTreeMap::new();
        for r in &rows {
            by_question
                .entry(r.get(0))
                .or_default()
                .entry(r.get(1))
                .or_default()
                .push((r.get(2), r.get(3)));
        }
        let questions = queue
            .scorecard
            .questions
            .iter()
            .map(|q| QuestionAgreement {
                question: q.id.clone(),
                agreement: by_question
                    .get(&q.id)
                    .and_then(|items| agreement::agreement(items.values().map(Vec::as_slice))),
            })
            .collect();
        Ok(Status {
            queue: queue.name.clone(),
            scorecard: queue.scorecard.name.clone(),
            items: totals.get(0),
            reviewers_per_item: queue.reviewers_per_item as i32,
            reviews_wanted: totals.get(1),
            reviews_done: totals.get(2),
            items_done: totals.get(3),
            reviewers,
            questions,
        })
    }

    /// One JSON line per item: its place in the sample and every review of it (reviewer, time,
    /// score, answers). Returns the number of lines.
    pub async fn export(&self, queue: &Queue, out: &mut impl Write) -> Result<u64> {
        let items = self
            .client
            .query(
                "SELECT position, conversation_id, stratum, started_at FROM queue_items WHERE queue_id = $1 ORDER BY position",
                &[&queue.id],
            )
            .await?;
        let reviews = self
            .client
            .query(
                "SELECT s.conversation_id, s.reviewer,
                        to_char(s.done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), sc.score
                 FROM queue_slots s LEFT JOIN queue_scores sc
                   ON sc.queue_id = s.queue_id AND sc.conversation_id = s.conversation_id AND sc.reviewer = s.reviewer
                 WHERE s.queue_id = $1 AND s.done_at IS NOT NULL ORDER BY s.conversation_id, s.reviewer",
                &[&queue.id],
            )
            .await?;
        let answers = self
            .client
            .query(
                "SELECT conversation_id, reviewer, question, answer FROM queue_answers WHERE queue_id = $1",
                &[&queue.id],
            )
            .await?;
        let mut answer_map: BTreeMap<(String, String), serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
        for r in &answers {
            answer_map
                .entry((r.get(0), r.get(1)))
                .or_default()
                .insert(r.get(2), serde_json::Value::String(r.get(3)));
        }
        let mut review_map: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for r in &reviews {
            let (cid, who): (String, String) = (r.get(0), r.get(1));
            let score: Option<f64> = r.get(3);
            let answers = answer_map.remove(&(cid.clone(), who.clone())).unwrap_or_default();
            review_map.entry(cid).or_default().push(serde_json::json!({
                "reviewer": who,
                "done_at": r.get::<_, Option<String>>(2),
                "score": score,
                "answers": answers,
            }));
        }
        let mut n = 0;
        for r in &items {
            let cid: String = r.get(1);
            let line = serde_json::json!({
                "queue": queue.name,
                "position": r.get::<_, i32>(0),
                "conversation_id": cid,
                "stratum": r.get::<_, String>(2),
                "started_at": r.get::<_, String>(3),
                "scorecard": queue.scorecard.name,
                "reviews": review_map.remove(&cid).unwrap_or_default(),
            });
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    }
}
