//! The login throttle under attack, and who the client is behind a proxy
//! (findings 3, 4 and 8 of `shared/reviews/security-2026-11-29.md`).
//!
//! Servers here trust 127.0.0.1 as their proxy (the test client connects
//! from it), so `X-Forwarded-For` picks each request's client. Time is a
//! `ManualClock` where a test waits out a backoff.

use std::time::Duration;

use cookie_lab::config::TrustedProxies;
use cookie_lab::security::throttle::{Clock, ManualClock};
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use tempfile::TempDir;

use crate::common::{
    TestApp, error_message, oneshot_app, set_cookies, spawn_with_clock, test_config,
};

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
        error_message(next)
            .await
            .contains("from your network address, for all email addresses")
    );
    assert_eq!(
        other_64.status(),
        StatusCode::OK,
        "another /64 is another client"
    );
}

// --- finding 4: the throttle as a lockout weapon -------------------------------

#[tokio::test]
async fn five_wrong_passwords_for_one_email_do_not_stop_another_email_from_the_same_address() {
    let app = oneshot_app().await;
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
        error_message(attacker)
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
        error_message(third)
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
