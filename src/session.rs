//! The request's login: the sealed cookie, opened, and checked against the
//! revocation store.

use time::OffsetDateTime;

use crate::cookies::RequestCookies;
use crate::cookies::inspect::{CookieKind, InspectedCookie};
use crate::cookies::login::{self, LoginClaims, LoginCookie};
use crate::revocation::RevocationError;
use crate::state::AppState;

/// Reads the login cookie; a valid one whose session was logged out is
/// `Revoked`. An unreachable store is an error, never "logged in".
pub async fn current_login(
    state: &AppState,
    cookies: &RequestCookies,
    https: bool,
    now: OffsetDateTime,
) -> Result<LoginCookie, RevocationError> {
    let found = login::read(&state.keys, cookies, https, now);
    revoked_or(state, found, now).await
}

/// `found`, or `Revoked` when it is valid but its session was logged out.
pub async fn revoked_or(
    state: &AppState,
    found: LoginCookie,
    now: OffsetDateTime,
) -> Result<LoginCookie, RevocationError> {
    let checked = match found {
        LoginCookie::Valid { claims, .. }
            if state
                .revocations
                .is_revoked(&claims.sid, claims.epoch, now)
                .await? =>
        {
            LoginCookie::Revoked { claims }
        }
        other => other,
    };
    state.metrics.login_cookie_read(&checked);
    Ok(checked)
}

/// Checks the login cookies among `inspected` against the revocation
/// store: at most [`MAX_LOOKUPS_PER_REQUEST`] distinct sessions, each once.
/// The valid ones past that are marked `unchecked`.
pub async fn check_inspected(
    state: &AppState,
    inspected: &mut [InspectedCookie<'_>],
    now: OffsetDateTime,
) -> Result<(), RevocationError> {
    let mut answers: Vec<(String, bool)> = Vec::new();
    for cookie in inspected.iter_mut() {
        let CookieKind::Login(found) = &mut cookie.kind else {
            continue;
        };
        let LoginCookie::Valid { claims, .. } = found else {
            state.metrics.login_cookie_read(found);
            continue;
        };
        let known = answers
            .iter()
            .find(|(sid, _)| *sid == claims.sid)
            .map(|&(_, revoked)| revoked);
        let revoked = match known {
            Some(revoked) => revoked,
            None if answers.len() < MAX_LOOKUPS_PER_REQUEST => {
                let revoked = state
                    .revocations
                    .is_revoked(&claims.sid, claims.epoch, now)
                    .await?;
                answers.push((claims.sid.clone(), revoked));
                revoked
            }
            None => {
                cookie.unchecked = true;
                continue;
            }
        };
        if revoked {
            *found = LoginCookie::Revoked {
                claims: claims.clone(),
            };
        }
        state.metrics.login_cookie_read(found);
    }
    Ok(())
}

/// The most revocation-store lookups one request makes, whatever its
/// cookies: the demo password is public, so anyone can mint any number of
/// valid sessions and paste them all into one Cookie header.
pub const MAX_LOOKUPS_PER_REQUEST: usize = 2;

/// The most sessions one logout or login revokes: more than a browser
/// ever holds under one name (one per path and domain).
pub const MAX_REVOKED_PER_REQUEST: usize = 16;

/// Every valid login cookie the request carried under its current name,
/// one per session, in order (at most [`MAX_REVOKED_PER_REQUEST`]).
pub fn presented_sessions(
    state: &AppState,
    cookies: &RequestCookies,
    https: bool,
    now: OffsetDateTime,
) -> Vec<LoginClaims> {
    let name = login::cookie_name(https);
    let mut sessions: Vec<LoginClaims> = Vec::new();
    for cookie in cookies.iter().filter(|c| c.name == name) {
        if sessions.len() == MAX_REVOKED_PER_REQUEST {
            break;
        }
        let found = login::open(&state.keys, name, cookie.raw_value, now);
        state.metrics.login_cookie_read(&found);
        if let LoginCookie::Valid { claims, .. } = found
            && !sessions.iter().any(|s| s.sid == claims.sid)
        {
            sessions.push(claims);
        }
    }
    sessions
}

/// Revokes each of `sessions` until its own expiry, in one store write.
pub async fn revoke_all(state: &AppState, sessions: &[LoginClaims]) -> Result<(), RevocationError> {
    if sessions.is_empty() {
        return Ok(());
    }
    let entries: Vec<(&str, OffsetDateTime)> =
        sessions.iter().map(|c| (c.sid.as_str(), c.exp)).collect();
    state.revocations.revoke_many(&entries).await
}
