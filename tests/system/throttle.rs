//! The login throttle shared by replicas through Redis, and what the real
//! binary says and logs about it (findings 3 and 8 of
//! `shared/reviews/security-2026-11-29.md`).

use std::time::{Duration, Instant};

use cookie_lab::config::{RedisTarget, RevocationStore};
use cookie_lab::keys::KeyRing;
use cookie_lab::security::throttle::{
    ClientKey, Clock, EmailHash, Limits, LoginThrottle, ManualClock, Refusal,
};
use reqwest::StatusCode;
use tempfile::TempDir;

use crate::binary::RunningBinary;
use crate::common::{
    TestApp, error_message, serve_command, set_cookies, spawn_with_clock, test_config,
};
use crate::shared_revocations::RedisServer;

const VICTIM: &str = "victim@example.com";

/// Two replicas sharing keys and one Redis, on one clock.
async fn replicas(redis: &RedisServer, clock: &Clock) -> [(TestApp, TempDir); 2] {
    let keys = KeyRing::generate().unwrap().current().secret_base64();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        config.env_keys = Some(keys.clone());
        config.revocations = RevocationStore::Redis(RedisTarget::parse(&redis.url()).unwrap());
        replicas.push((spawn_with_clock(config, clock.clone()).await, dir));
    }
    replicas.try_into().unwrap_or_else(|_| unreachable!())
}

/// Wrong passwords for `email`, sent to `apps` in turn, until one is 429:
/// how many were judged (401).
async fn guesses_until_throttled(apps: &[&TestApp], email: &str) -> usize {
    for guess in 0..50 {
        let app = apps[guess % apps.len()];
        match app.login(email, "guess").await.status() {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => return guess,
            other => panic!("guess {guess}: {other}"),
        }
    }
    panic!("50 guesses at {email} and never throttled");
}

#[tokio::test]
async fn a_guesser_spread_over_two_replicas_gets_no_more_tries_than_on_one() {
    let redis = RedisServer::start().await;
    let [(first, _a), (second, _b)] = replicas(&redis, &Clock::system()).await;

    let on_one = guesses_until_throttled(&[&first], "one@example.com").await;
    let spread = guesses_until_throttled(&[&first, &second], "spread@example.com").await;

    assert_eq!(on_one, 5);
    assert_eq!(spread, on_one, "the replicas count together");
    // And the pair locked through both is locked on each.
    assert_eq!(
        second.login("one@example.com", "code").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn with_the_shared_counters_unreachable_a_login_is_refused_not_judged() {
    let mut redis = RedisServer::start().await;
    let [(app, _dir), _other] = replicas(&redis, &Clock::system()).await;
    assert_eq!(
        app.login(VICTIM, "guess").await.status(),
        StatusCode::UNAUTHORIZED
    );

    redis.stop();

    for password in ["guess", "code"] {
        let started = Instant::now();
        let response = app.login(VICTIM, password).await;
        // The bound per Redis call is 1.5 s; 8 s is generous.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{password}"
        );
        assert!(set_cookies(response.headers()).is_empty());
        let message = error_message(response).await;
        assert!(
            message.contains("can't reach the store that counts failed logins"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn the_redis_script_judges_as_the_memory_tables_do() {
    let redis = RedisServer::start().await;
    let manual = ManualClock::starting_now();
    // Small numbers, so that a few hundred steps meet every rule: backoff,
    // its doubling and cap, forgetting, the ceiling and its window, attacks.
    let limits = Limits {
        pair_free: 3,
        pair_free_under_attack: 1,
        backoff_base: Duration::from_secs(10),
        backoff_max: Duration::from_secs(80),
        forget_short: Duration::from_secs(120),
        forget_long: Duration::from_secs(600),
        client_ceiling: 6,
        attack_clients: 3,
        bucket: Duration::from_secs(30),
        capacity: 10_000,
    };
    let memory = LoginThrottle::in_memory(limits, manual.clock());
    let shared = LoginThrottle::in_redis(
        &RedisTarget::parse(&redis.url()).unwrap(),
        limits,
        manual.clock(),
    )
    .unwrap();
    let clients: Vec<ClientKey> = [
        "10.0.0.1",
        "10.0.0.2",
        "2001:db8::1",
        "2001:db8:0:1::9",
        "198.51.100.7",
    ]
    .iter()
    .map(|ip| ClientKey::from(ip.parse::<std::net::IpAddr>().unwrap()))
    .chain([ClientKey::Unknown])
    .collect();
    let emails = ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"];
    // A fixed pseudo-random script (xorshift), the same on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let mut allowed = 0;
    let mut seen = std::collections::BTreeSet::new();
    for step in 0..600 {
        let client = clients[usize::try_from(next(clients.len() as u64)).unwrap()];
        let email = emails[usize::try_from(next(emails.len() as u64)).unwrap()];
        let right_password = next(10) == 0;
        let in_memory = memory.attempt(client, email).await;
        let in_redis = shared.attempt(client, email).await;
        match (in_memory, in_redis) {
            (Ok(a), Ok(b)) => {
                allowed += 1;
                if right_password {
                    a.succeeded().await;
                    b.succeeded().await;
                } else {
                    a.failed();
                    b.failed();
                }
            }
            (Err(Refusal::Throttled(a)), Err(Refusal::Throttled(b))) => {
                assert_eq!(a, b, "step {step}: {client} {email}");
                seen.insert((a.by.label(), a.under_attack));
            }
            (a, b) => panic!(
                "step {step}: {client} {email}: memory {:?}, redis {:?}",
                a.err(),
                b.err()
            ),
        }
        manual.advance(Duration::from_secs(next(10)));
    }
    assert!(allowed > 100, "{allowed} allowed");
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            ("client", false),
            ("client", true),
            ("pair", false),
            ("pair", true)
        ],
        "every kind of refusal was met"
    );
}

#[test]
fn a_bare_trust_proxy_refuses_to_start_instead_of_trusting_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = serve_command(dir.path());
        command.args(args).env_remove("COOKIE_LAB_TRUST_PROXY");
        if let Some(value) = env {
            command.env("COOKIE_LAB_TRUST_PROXY", value);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };

    let (bare_code, bare) = run(&["--trust-proxy"], None);
    let (switch_code, switch) = run(&[], Some("true"));

    assert_eq!(bare_code, Some(2), "{bare}");
    assert!(
        bare.contains("a value is required for '--trust-proxy"),
        "{bare}"
    );
    assert_eq!(switch_code, Some(1), "{switch}");
    assert!(switch.contains("--trust-proxy"), "{switch}");
    assert!(switch.contains("such as 127.0.0.1/32"), "{switch}");
    assert!(!switch.contains("panicked"), "{switch}");
}

#[tokio::test]
async fn each_throttle_event_is_logged_with_the_client_and_a_hash_of_the_email_never_the_email() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RunningBinary::start(dir.path(), &["--trust-proxy", "127.0.0.1"]);
    let email = "secret.person@example.com";
    let login = |client: &'static str| {
        reqwest::Client::new()
            .post(format!("http://{}/login", server.addr))
            .header("x-forwarded-for", client)
            .form(&[("email", email), ("password", "guess")])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            login("198.51.100.7").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login("198.51.100.7").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login("not-an-address").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    server.sigterm();
    assert!(server.exit_within(Duration::from_secs(10)).success());

    let log = server.log();
    let hash = format!("email={}", EmailHash::of(email));
    let line = |needle: &str| {
        log.iter()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", log.join("\n")))
            .clone()
    };
    let counted = line("login failed: counted");
    let backoff = line("now wait");
    let throttled = line("login throttled");
    let unknown = line("X-Forwarded-For entry is not an address");
    for event in [&counted, &backoff, &throttled] {
        assert!(event.contains("client=198.51.100.7"), "{event}");
        assert!(event.contains(&hash), "{event}");
    }
    assert!(
        throttled.contains("by=\"pair\"") || throttled.contains("by=pair"),
        "{throttled}"
    );
    assert!(
        unknown.contains("proxy=127.0.0.1") && unknown.contains("not-an-address"),
        "{unknown}"
    );
    assert!(line("client=unknown").contains(&hash));
    let all = log.join("\n");
    assert!(
        !all.contains("secret.person"),
        "the email never shows:\n{all}"
    );
}
