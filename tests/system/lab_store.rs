//! The cross-site lab's runs in Redis (`--revocations redis://…`): replicas
//! sharing one Redis record the steps of one run and answer for it, and
//! the store keeps to its bounds in count, bytes and time. Without Redis
//! the lab says so (503), never 500.

use std::path::Path;
use std::time::Duration;

use cookie_lab::config::{Origin, RedisTarget, RevocationStore};
use cookie_lab::engine::Engine;
use cookie_lab::lab::plan::Column;
use cookie_lab::lab::store::MAX_RUN_BYTES;
use cookie_lab::lab::{
    Bounds, Browser, LabPolicy, LabStore, NameSet, Observation, Run, RunId, Update,
};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use time::OffsetDateTime;

use crate::common::{TestApp, oneshot_with, test_config};
use crate::shared_revocations::RedisServer;

fn run() -> Run {
    Run {
        id: RunId::generate().unwrap(),
        created: OffsetDateTime::now_utc(),
        a: Origin::parse("http://127.0.0.1:5000").unwrap(),
        b: Origin::parse("http://localhost:5000").unwrap(),
        browser: Browser::Modelled {
            engine: Engine::Firefox,
            version: "153".to_owned(),
        },
        policy: LabPolicy::default(),
        prepared_b: None,
        prepared_a: None,
        observed: Default::default(),
    }
}

fn seen(names: &[&str]) -> Observation {
    Observation {
        at: OffsetDateTime::now_utc(),
        sent: NameSet::of(names.iter().copied()),
        stale: NameSet::of(names.iter().copied()),
        fetch_site: Some("cross-site".to_owned()),
        fetch_dest: Some("document".to_owned()),
    }
}

fn target(redis: &RedisServer) -> RedisTarget {
    RedisTarget::parse(&redis.url()).unwrap()
}

/// A replica with no socket, its runs in this Redis.
async fn replica(redis: &RedisServer) -> TestApp {
    let mut config = test_config(Path::new("/nonexistent/lab-replica"));
    config.revocations = RevocationStore::Redis(target(redis));
    oneshot_with(config).await
}

#[tokio::test]
async fn replicas_sharing_redis_record_the_steps_of_one_run_and_each_answers_for_it() {
    let redis = RedisServer::start().await;
    let (first, second) = (replica(&redis).await, replica(&redis).await);

    let started = first
        .send(
            first
                .client
                .post("http://127.0.0.1:5000/lab/start")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("user-agent", "Mozilla/5.0 Firefox/153.0")
                .body("firefox_third_party=partition"),
            false,
        )
        .await;
    let to_b = started.headers()[LOCATION].to_str().unwrap().to_owned();
    let id = to_b.rsplit('=').next().unwrap().to_owned();
    let prepared = second.send(second.client.get(&to_b), false).await;
    assert_eq!(
        prepared.status(),
        StatusCode::SEE_OTHER,
        "the other replica knows the run"
    );
    let link = format!("http://localhost:5000/lab/peer/visit?id={id}&column=link");
    let cookie = format!("lab-lax={id}");
    second
        .send(second.client.get(&link).header("cookie", cookie), false)
        .await;

    let report: serde_json::Value = first
        .send(
            first
                .client
                .get(format!("http://127.0.0.1:5000/api/lab/{id}")),
            false,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["engine"], "firefox");
    let lax = report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cookie"] == "lab-lax" && c["context"] == "link")
        .unwrap();
    assert_eq!(
        (&lax["observed"], &lax["predicted"]),
        (&true.into(), &true.into())
    );
}

#[tokio::test]
async fn past_the_count_bound_the_oldest_run_goes_and_each_run_expires() {
    let redis = RedisServer::start().await;
    let store = LabStore::in_redis(
        &target(&redis),
        Bounds {
            max_runs: 3,
            max_bytes: usize::MAX,
            ttl: Duration::from_secs(1),
        },
    );
    let runs: Vec<Run> = (0..5).map(|_| run()).collect();
    for r in &runs {
        store.create(r).await.unwrap();
    }

    assert!(store.get(&runs[0].id).await.unwrap().is_none());
    assert!(store.get(&runs[1].id).await.unwrap().is_none());
    assert!(store.get(&runs[4].id).await.unwrap().is_some());
    let held = redis
        .command(redis::cmd("LLEN").arg("cookie-lab:lab:runs"))
        .await;
    assert_eq!(held, redis::Value::Int(3));
    let ttl = redis
        .command(redis::cmd("PTTL").arg(format!("cookie-lab:lab:run:{}", runs[4].id)))
        .await;
    assert!(
        matches!(ttl, redis::Value::Int(ms) if (1..=1000).contains(&ms)),
        "{ttl:?}"
    );

    // Gone after the TTL, and a step can't bring it back. Polled for 5x
    // the TTL: a busy machine may be slow, Redis expires it on time.
    let gone_by = std::time::Instant::now() + Duration::from_secs(5);
    while store.get(&runs[4].id).await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < gone_by,
            "the run outlived its TTL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let update = Update::Observed(Column::Link, seen(&["lab-lax"]));
    assert!(!store.update(&runs[4].id, update).await.unwrap());
    let recreated = redis
        .command(redis::cmd("EXISTS").arg(format!("cookie-lab:lab:run:{}", runs[4].id)))
        .await;
    assert_eq!(recreated, redis::Value::Int(0));
}

#[tokio::test]
async fn a_run_with_every_step_seen_stays_within_its_byte_bound_and_the_first_record_wins() {
    let redis = RedisServer::start().await;
    let store = LabStore::in_redis(&target(&redis), Bounds::STANDARD);
    let r = run();
    store.create(&r).await.unwrap();
    let every_name: Vec<String> = cookie_lab::lab::plan::all_names()
        .map(|(_, _, n)| n)
        .collect();
    let names: Vec<&str> = every_name.iter().map(String::as_str).collect();
    store
        .update(&r.id, Update::PreparedB(OffsetDateTime::now_utc()))
        .await
        .unwrap();
    store
        .update(&r.id, Update::PreparedA(OffsetDateTime::now_utc()))
        .await
        .unwrap();
    for column in Column::ALL {
        assert!(
            store
                .update(&r.id, Update::Observed(column, seen(&names)))
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .update(&r.id, Update::Observed(Column::Link, seen(&[])))
            .await
            .unwrap()
    );

    let back = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(back.observed.len(), Column::ALL.len());
    assert!(
        back.observed[&Column::Link].sent.contains("lab-lax"),
        "the first record wins"
    );
    let key = format!("cookie-lab:lab:run:{}", r.id);
    let fields = redis.command(redis::cmd("HGETALL").arg(&key)).await;
    let redis::Value::Array(items) = fields else {
        panic!("a hash: {fields:?}");
    };
    let bytes: usize = items
        .iter()
        .map(|item| match item {
            redis::Value::BulkString(b) => b.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert!(bytes <= MAX_RUN_BYTES, "{bytes} bytes for a whole run");
}

#[tokio::test]
async fn without_redis_the_lab_answers_503_and_says_why() {
    let mut config = test_config(Path::new("/nonexistent/lab-no-redis"));
    // Nothing listens on port 1 of loopback: every connect is refused.
    config.revocations =
        RevocationStore::Redis(RedisTarget::parse("redis://127.0.0.1:1/0").unwrap());
    let app = oneshot_with(config).await;

    let start = app
        .send(
            app.client
                .post("http://127.0.0.1:5000/lab/start")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(""),
            false,
        )
        .await;
    assert_eq!(start.status(), StatusCode::SERVICE_UNAVAILABLE);
    let api = app
        .send(
            app.client
                .get("http://127.0.0.1:5000/api/lab/AAAAAAAAAAAAAAAAAAAAAA"),
            false,
        )
        .await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("lab's runs"),
        "{body}"
    );
}
