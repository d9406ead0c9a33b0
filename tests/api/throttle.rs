//! The login throttle under attack, and who the client is behind a proxy
//! (findings 3, 4 and 8 of `shared/reviews/security-2026-11-29.md`).
//!
//! Servers here trust 127.0.0.1 as their proxy (the test client connects
//! from it), so `X-Forwarded-For` picks each request's client. Time is a
//! `ManualClock` where a test waits out a backoff.

use std::process::Command;
use std::time::{Duration, Instant};

use cookie_lab::config::{RedisTarget, RevocationStore};
use cookie_lab::keys::KeyRing;
use cookie_lab::security::proxy::TrustedProxies;
use cookie_lab::security::throttle::{
    ClientKey, Clock, EmailHash, Limits, LoginThrottle, ManualClock, Refusal,
};
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use tempfile::TempDir;

use crate::binary::{BIN, RunningBinary};
use crate::helpers::{TestApp, set_cookies, spawn_app, spawn_with_clock, test_config, text_of};
use crate::shared_revocations::RedisServer;

const VICTIM: &str = "victim@example.com";
const ATTACKER: &str = "198.51.100.66";

/// A server behind a proxy at 127.0.0.1 (or `trusted`), on `clock`.
async fn behind_proxy(trusted: &str, clock: Clock) -> (TestApp, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.trust_proxy = TrustedProxies::parse(trusted).unwrap();
    (spawn_with_clock(config, clock).await, dir)
}

/// `POST /login` without the jar, as forwarded for `client` (no header when
/// `None`).
async fn login_as(app: &TestApp, client: Option<&str>, email: &str, password: &str) -> Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password)]);
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.unwrap()
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get(RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn page_message(response: Response) -> String {
    text_of(&response.text().await.unwrap(), "error-message")
}

// --- finding 3: bypasses ------------------------------------------------------

#[tokio::test]
async fn ipv6_addresses_rotated_within_one_64_share_one_ceiling() {
    let (app, _dir) = behind_proxy("127.0.0.1", Clock::system()).await;
    // 100 wrong passwords, each from another address of one /64 and for
    // another email, so no (client, email) pair reaches its backoff.
    for i in 1..=100 {
        let response = login_as(
            &app,
            Some(&format!("2001:db8:1:2::{i:x}")),
            &format!("user{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }

    let next = login_as(
        &app,
        Some("[2001:db8:1:2:ffff::1]:443"),
        "fresh@example.com",
        "code",
    )
    .await;
    let other_64 = login_as(&app, Some("2001:db8:1:3::1"), "fresh@example.com", "code").await;

    assert_eq!(
        next.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the /64's ceiling"
    );
    assert!(retry_after(&next) <= 3600);
    assert!(set_cookies(next.headers()).is_empty());
    assert!(
        page_message(next)
            .await
            .contains("from your network address, for all email addresses")
    );
    assert_eq!(
        other_64.status(),
        StatusCode::OK,
        "another /64 is another client"
    );
}

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
        let message = page_message(response).await;
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

// --- finding 4: the throttle as a lockout weapon -------------------------------

#[tokio::test]
async fn five_wrong_passwords_for_one_email_do_not_stop_another_email_from_the_same_address() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.login("mallory@example.com", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    let other = app.login("colleague@example.com", "code").await;
    let same = app.login("mallory@example.com", "code").await;

    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another email from 127.0.0.1"
    );
    assert_eq!(
        same.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guessed pair waits"
    );
}

#[tokio::test]
async fn the_victims_right_password_from_another_client_gets_in_while_the_attacker_waits() {
    let (app, _dir) = behind_proxy("127.0.0.1", Clock::system()).await;
    for _ in 0..5 {
        login_as(&app, Some(ATTACKER), VICTIM, "guess").await;
    }

    let attacker = login_as(&app, Some(ATTACKER), VICTIM, "code").await;
    let victim = login_as(&app, Some("203.0.113.9"), VICTIM, "code").await;

    assert_eq!(
        attacker.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );
    assert!(
        page_message(attacker)
            .await
            .contains("for this email address from your network address")
    );
    assert_eq!(victim.status(), StatusCode::OK);
    assert_eq!(set_cookies(victim.headers()).len(), 1);
}

#[tokio::test]
async fn ten_failures_spaced_by_retry_after_do_not_lock_out_the_victim() {
    let clock = ManualClock::starting_now();
    let (app, _dir) = behind_proxy("127.0.0.1", clock.clock()).await;
    let mut failures = 0;
    let mut waits = Vec::new();
    // The careful attacker: a wrong password whenever allowed, and exactly
    // the Retry-After it is told in between. Whenever it is made to wait,
    // the victim logs in from their own address.
    for _ in 0..30 {
        let response = login_as(&app, Some(ATTACKER), VICTIM, "guess").await;
        match response.status() {
            StatusCode::UNAUTHORIZED => failures += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let victim = login_as(&app, Some("203.0.113.9"), VICTIM, "code").await;
                assert_eq!(
                    victim.status(),
                    StatusCode::OK,
                    "the victim after {failures} failures"
                );
                let wait = retry_after(&response);
                waits.push(wait);
                clock.advance(Duration::from_secs(wait));
            }
            other => panic!("{other}"),
        }
        if failures == 10 {
            break;
        }
    }
    let victim = login_as(&app, Some("203.0.113.9"), VICTIM, "code").await;
    let attacker = login_as(&app, Some(ATTACKER), VICTIM, "code").await;

    assert_eq!(failures, 10);
    assert_eq!(
        waits,
        [60, 120, 240, 480, 960],
        "the attacker's waits double"
    );
    assert_eq!(victim.status(), StatusCode::OK);
    assert_eq!(attacker.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&attacker), 1920);
}

#[tokio::test]
async fn an_email_guessed_from_many_clients_slows_only_the_clients_that_failed_on_it() {
    let (app, _dir) = behind_proxy("127.0.0.1", Clock::system()).await;
    for i in 1..=10 {
        login_as(&app, Some(&format!("198.51.100.{i}")), VICTIM, "guess").await;
    }

    let second = login_as(&app, Some("198.51.100.1"), VICTIM, "guess").await;
    let third = login_as(&app, Some("198.51.100.1"), VICTIM, "code").await;
    let typo = login_as(&app, Some("203.0.113.5"), VICTIM, "guess").await;
    let after_typo = login_as(&app, Some("203.0.113.5"), VICTIM, "code").await;
    let fresh = login_as(&app, Some("203.0.113.6"), VICTIM, "code").await;

    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        third.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "2 free failures under attack"
    );
    assert!(
        page_message(third)
            .await
            .contains("being guessed from many addresses")
    );
    assert_eq!(typo.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(after_typo.status(), StatusCode::OK, "one typo of one's own");
    assert_eq!(fresh.status(), StatusCode::OK, "no failures of one's own");
}

// --- finding 8: which client, behind which proxy --------------------------------

#[tokio::test]
async fn an_untrusted_peers_forwarded_headers_are_ignored() {
    // The proxy is somewhere in 10.0.0.0/8; the test client, 127.0.0.1, is not it.
    let (app, _dir) = behind_proxy("10.0.0.0/8", Clock::system()).await;
    let claimed_https = reqwest::Client::new()
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", "ada@example.com"), ("password", "code")])
        .send()
        .await
        .unwrap();
    let cookie = set_cookies(claimed_https.headers()).join("\n");
    assert!(cookie.starts_with("lab_session="), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "the claimed scheme is ignored: {cookie}"
    );

    // 100 wrong passwords, each claiming another address and naming another
    // email: if the claims counted, each would be a fresh client.
    for i in 0..100 {
        let response = login_as(
            &app,
            Some(&format!("10.9.{}.{}", i / 250, i % 250 + 1)),
            &format!("user{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let next = login_as(&app, Some("10.9.9.9"), "fresh@example.com", "code").await;

    assert_eq!(
        next.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "all 100 guesses were the peer's, whatever it claimed: its ceiling"
    );
}

#[tokio::test]
async fn a_forwarded_address_with_a_port_is_that_address() {
    let (app, _dir) = behind_proxy("127.0.0.1", Clock::system()).await;
    for _ in 0..5 {
        let response = login_as(&app, Some("198.51.100.7:4444"), VICTIM, "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let same_client = login_as(&app, Some("198.51.100.7"), VICTIM, "code").await;
    let innocent = login_as(&app, Some("203.0.113.77:5555"), VICTIM, "code").await;
    let proxy_itself = login_as(&app, None, VICTIM, "code").await;

    assert_eq!(same_client.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(innocent.status(), StatusCode::OK);
    assert_eq!(
        proxy_itself.status(),
        StatusCode::OK,
        "not the proxy's bucket"
    );
}

#[tokio::test]
async fn garbage_forwarded_for_is_an_unknown_client_never_the_proxy() {
    let (app, _dir) = behind_proxy("127.0.0.1", Clock::system()).await;
    for garbage in ["garbage", "unknown", "1.2.3", "[junk", "198.51.100.7, "] {
        let response = login_as(&app, Some(garbage), VICTIM, "guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{garbage:?}");
    }

    let unknown_again = login_as(&app, Some("_hidden"), VICTIM, "code").await;
    let innocent = login_as(&app, Some("203.0.113.77:5555"), VICTIM, "code").await;
    let proxy_itself = login_as(&app, None, VICTIM, "code").await;

    assert_eq!(
        unknown_again.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "every unreadable entry is one client, \"unknown\""
    );
    assert_eq!(innocent.status(), StatusCode::OK, "behind the same proxy");
    assert_eq!(
        proxy_itself.status(),
        StatusCode::OK,
        "not the proxy's bucket"
    );
}

#[test]
fn a_bare_trust_proxy_refuses_to_start_instead_of_trusting_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(BIN);
        command
            .args(["--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env_remove("COOKIE_LAB_TRUST_PROXY");
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
