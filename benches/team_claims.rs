//! Claims per second and claim latency (p50/p99) against a real PostgreSQL on loopback: 8
//! reviewers (`REVIEWERS=N`), each with its own connection, empty a 4,000-item queue. Target:
//! p99 ≤ 20 ms.
//!
//! Needs a server named by PGHOST/PGPORT/PGUSER/PGPASSWORD (a throwaway one:
//! `pg_virtualenv cargo bench --bench team_claims`). It creates and drops its own database.

use std::time::{Duration, Instant};

use callscope::team::{NewQueue, Team, TeamSection, sample::Item, scorecard};

const ITEMS: usize = 4000;

/// Reviewers claiming at once (`REVIEWERS=1` measures one claim without contention) [default: 8].
fn reviewers() -> usize {
    std::env::var("REVIEWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(8)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn section(db: &str) -> TeamSection {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    TeamSection {
        database: Some(format!(
            "postgres://{}@{}:{}/{db}?sslmode=disable",
            var("PGUSER", "postgres"),
            var("PGHOST", "localhost"),
            var("PGPORT", "5432")
        )),
        ..Default::default()
    }
}

async fn admin(sql: &str) {
    let db = std::env::var("PGDATABASE").unwrap_or_else(|_| "postgres".into());
    let client = callscope::team::conn::connect(&section(&db), &callscope::config::process_env)
        .await
        .expect("connect to PostgreSQL");
    client.batch_execute(sql).await.unwrap();
}

fn main() {
    if std::env::var_os("PGHOST").is_none() {
        println!("team_claims: skipped, no PostgreSQL (run: pg_virtualenv cargo bench --bench team_claims)");
        return;
    }
    let db = format!("cs_bench_claims_{}", std::process::id());
    rt().block_on(async {
        admin(&format!("CREATE DATABASE {db}")).await;
        let mut team = Team::connect_unchecked(&section(&db), &callscope::config::process_env)
            .await
            .unwrap();
        team.init().await.unwrap();
        team.create_queue(&NewQueue {
            name: "bench".into(),
            created_by: "bench".into(),
            recipe: "bench".into(),
            scorecard: scorecard::find(&toml::Table::new(), scorecard::DEFAULT).unwrap(),
            reviewers_per_item: 1,
            assignees: Vec::new(),
            items: (0..ITEMS)
                .map(|i| Item {
                    id: format!("c{i:05}"),
                    stratum: String::new(),
                    started_at: String::new(),
                })
                .collect(),
        })
        .await
        .unwrap();
    });
    let reviewer_count = reviewers();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..reviewer_count)
            .map(|r| {
                let db = db.clone();
                s.spawn(move || {
                    rt().block_on(async move {
                        let team = Team::open(&section(&db), &callscope::config::process_env)
                            .await
                            .unwrap();
                        let queue = team.queue("bench").await.unwrap();
                        let who = format!("r{r}");
                        let mut times = Vec::new();
                        loop {
                            let t = Instant::now();
                            let got = team.claim(&queue, &who, Duration::from_secs(900)).await.unwrap();
                            times.push(t.elapsed());
                            if got.is_none() {
                                break times;
                            }
                        }
                    })
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let claims = latencies.len() - reviewer_count; // the last call of each reviewer found nothing
    println!(
        "team_claims: {claims} claims by {reviewer_count} reviewers in {:.2} s = {:.0} claims/s; claim p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 ≤ 20 ms)",
        wall.as_secs_f64(),
        claims as f64 / wall.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    rt().block_on(admin(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")));
}
