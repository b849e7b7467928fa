//! Claims against a real PostgreSQL: 8 reviewers, each with its own connection, empty a
//! 1,000-item queue with every item claimed exactly once; a reviewer process killed with SIGKILL
//! while it holds a claim loses the item to the others only after its lease runs out.

#[path = "support/team.rs"]
mod team_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use callscope::team::scorecard::Answer;
use team_support::{TestDb, new_queue, runtime};

#[test]
fn eight_reviewers_empty_a_thousand_item_queue_each_item_once() {
    let Some(db) = TestDb::initialised("claim_race") else {
        return;
    };
    runtime().block_on(async {
        db.team().await.create_queue(&new_queue("race", 1000, 1)).await.unwrap();
    });
    let db = &db;
    let claimed: Vec<(String, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|r| {
                s.spawn(move || {
                    let reviewer = format!("r{r}@test");
                    runtime().block_on(async {
                        let mut team = db.team().await;
                        let queue = team.queue("race").await.unwrap();
                        let mut got = Vec::new();
                        while let Some(id) = team.claim(&queue, &reviewer, Duration::from_secs(900)).await.unwrap() {
                            // Finishing every other one: done and held items alike stay unique.
                            if got.len() % 2 == 0 {
                                team.done(&queue, &id, &reviewer, &BTreeMap::new()).await.unwrap();
                            }
                            got.push(id);
                        }
                        (reviewer, got)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&String> = claimed.iter().flat_map(|(_, ids)| ids).collect();
    let distinct: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), 1000, "every item claimed once: {} claims", all.len());
    assert_eq!(distinct.len(), 1000, "no item claimed twice");
    // Every reviewer got a share (the claims really ran side by side).
    assert!(claimed.iter().all(|(_, ids)| !ids.is_empty()), "{claimed:?}");
    runtime().block_on(async {
        let team = db.team().await;
        let queue = team.queue("race").await.unwrap();
        for (reviewer, _) in &claimed {
            assert_eq!(
                team.claim(&queue, reviewer, Duration::from_secs(900)).await.unwrap(),
                None
            );
        }
        let status = team.status(&queue).await.unwrap();
        assert_eq!(status.items, 1000);
        let done: usize = claimed.iter().map(|(_, ids)| ids.len().div_ceil(2)).sum();
        assert_eq!(status.reviews_done as usize, done);
        let in_progress: i64 = status.reviewers.iter().map(|r| r.in_progress).sum();
        assert_eq!(in_progress as usize, 1000 - done);
    });
}

/// The victim's lease: long enough for the survivor to empty the rest of the queue first.
const VICTIM_LEASE: Duration = Duration::from_secs(6);

/// The reviewer that gets killed: claims one item with a short lease, prints it, and waits.
#[test]
#[ignore = "run by killed_reviewer_item_comes_back_after_the_lease as a child process"]
fn child_claims_and_hangs() {
    if std::env::var_os("CALLSCOPE_TEAM_CHILD").is_none() {
        return;
    }
    let url = std::env::var("CALLSCOPE_TEAM_URL").unwrap();
    runtime().block_on(async {
        let section = callscope::team::TeamSection {
            database: Some(url),
            ..Default::default()
        };
        let team = callscope::team::Team::open(&section, &callscope::config::process_env)
            .await
            .unwrap();
        let queue = team.queue("kill").await.unwrap();
        let id = team.claim(&queue, "victim@test", VICTIM_LEASE).await.unwrap().unwrap();
        println!("CLAIMED {id}");
        tokio::time::sleep(Duration::from_secs(600)).await;
    });
}

#[test]
fn killed_reviewer_item_comes_back_after_the_lease() {
    let Some(db) = TestDb::initialised("claim_kill") else {
        return;
    };
    runtime().block_on(async {
        db.team().await.create_queue(&new_queue("kill", 20, 1)).await.unwrap();
    });
    // SAFETY-free: set for the child only, through the command's environment.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_claims_and_hangs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CALLSCOPE_TEAM_CHILD", "1")
        .env("CALLSCOPE_TEAM_URL", db.url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let victim_item = {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        loop {
            let line = lines.next().expect("the child prints CLAIMED").unwrap();
            if let Some((_, id)) = line.split_once("CLAIMED ") {
                break id.trim().to_string();
            }
        }
    };
    let claimed_at = std::time::Instant::now();
    // std's kill is SIGKILL on Unix: no chance to release anything.
    child.kill().unwrap();
    child.wait().unwrap();
    runtime().block_on(async {
        let mut team = db.team().await;
        let queue = team.queue("kill").await.unwrap();
        // While the lease runs, the others get the other 19 and never the victim's item.
        let mut got = Vec::new();
        while let Some(id) = team
            .claim(&queue, "survivor@test", Duration::from_secs(900))
            .await
            .unwrap()
        {
            team.done(&queue, &id, "survivor@test", &BTreeMap::new()).await.unwrap();
            got.push(id);
        }
        assert!(
            claimed_at.elapsed() < VICTIM_LEASE,
            "the machine is too slow for this test's lease"
        );
        assert_eq!(got.len(), 19, "{got:?}");
        assert!(!got.contains(&victim_item));
        // Still held: nobody else gets it before the lease ends.
        assert_eq!(
            team.claim(&queue, "other@test", Duration::from_secs(900))
                .await
                .unwrap(),
            None
        );
        tokio::time::sleep((VICTIM_LEASE + Duration::from_millis(300)).saturating_sub(claimed_at.elapsed())).await;
        let back = team
            .claim(&queue, "other@test", Duration::from_secs(900))
            .await
            .unwrap();
        assert_eq!(
            back.as_deref(),
            Some(victim_item.as_str()),
            "the item comes back after the lease"
        );
        // The victim cannot finish what it no longer holds; the new holder can.
        let e = team
            .done(&queue, &victim_item, "victim@test", &BTreeMap::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("hold no claim") || e.contains("lease ran out"), "{e}");
        team.done(&queue, &victim_item, "other@test", &BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(
            team.claim(&queue, "third@test", Duration::from_secs(900))
                .await
                .unwrap(),
            None
        );
    });
}

#[test]
fn two_reviewers_per_item_and_agreement_from_the_store() {
    let Some(db) = TestDb::initialised("claim_pairs") else {
        return;
    };
    runtime().block_on(async {
        let mut team = db.team().await;
        team.create_queue(&new_queue("pairs", 4, 2)).await.unwrap();
        let queue = team.queue("pairs").await.unwrap();
        // alice and bob each review all four items; nobody gets the same item twice.
        let answers = |greeting: &str| {
            let mut a = queue
                .scorecard
                .parse_answers([
                    "identification=yes",
                    "understood_request=5",
                    "correct_information=yes",
                    "resolution=resolved",
                ])
                .unwrap();
            a.insert(
                "greeting".into(),
                if greeting == "yes" { Answer::Yes } else { Answer::No },
            );
            a
        };
        // greeting: alice yes yes no no; bob yes no no no → 3 of 4 agree;
        // p_e = (2/4)(1/4) + (2/4)(3/4) = 0.5; kappa = (0.75 − 0.5)/0.5 = 0.5.
        let alice = ["yes", "yes", "no", "no"];
        let bob = ["yes", "no", "no", "no"];
        let mut alice_ids = Vec::new();
        while let Some(id) = team.claim(&queue, "alice", Duration::from_secs(60)).await.unwrap() {
            alice_ids.push(id);
        }
        assert_eq!(alice_ids.len(), 4);
        for (id, g) in alice_ids.iter().zip(alice) {
            team.done(&queue, id, "alice", &answers(g)).await.unwrap();
        }
        let mut bob_ids = Vec::new();
        while let Some(id) = team.claim(&queue, "bob", Duration::from_secs(60)).await.unwrap() {
            bob_ids.push(id);
        }
        assert_eq!(bob_ids, alice_ids, "bob gets the second slot of each item, in order");
        for (id, g) in bob_ids.iter().zip(bob) {
            let score = team.done(&queue, id, "bob", &answers(g)).await.unwrap();
            assert!(score.is_some());
        }
        assert_eq!(
            team.claim(&queue, "carol", Duration::from_secs(60)).await.unwrap(),
            None
        );
        let status = team.status(&queue).await.unwrap();
        assert_eq!(
            (status.items_done, status.reviews_done, status.reviews_wanted),
            (4, 8, 8)
        );
        let greeting = status.questions.iter().find(|q| q.question == "greeting").unwrap();
        let a = greeting.agreement.as_ref().unwrap();
        assert_eq!(a.pairs, 4);
        assert!((a.percent - 75.0).abs() < 1e-9);
        assert!((a.kappa.unwrap() - 0.5).abs() < 1e-9, "{a:?}");
        // Everyone answered identification "yes": agreement 100 %, kappa undefined.
        let ident = status
            .questions
            .iter()
            .find(|q| q.question == "identification")
            .unwrap();
        assert_eq!(ident.agreement.as_ref().unwrap().kappa, None);
    });
}
