//! The request's login: the sealed cookie, opened, and checked against the
//! revocation store.

use axum::http::StatusCode;
use time::OffsetDateTime;

use crate::cookies::RequestCookies;
use crate::cookies::login::{self, LoginCookie};
use crate::error::PageError;
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
    let checked = match &found {
        LoginCookie::Valid { claims, .. }
            if state.revocations.is_revoked(&claims.sid, now).await? =>
        {
            LoginCookie::Revoked {
                claims: claims.clone(),
            }
        }
        _ => found,
    };
    state.metrics.login_cookie_read(&checked);
    Ok(checked)
}

/// The page for "can't check logins right now": 503, and nobody let in.
pub fn store_unavailable(err: &RevocationError) -> PageError {
    tracing::error!(error = %err, "revocation store unavailable: refusing to check logins");
    PageError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Logins can't be checked right now",
        "cookie-lab can't reach the store that records logged-out sessions, so it can't tell a live login \
         from a logged-out one and lets nobody in for now. Try again in a minute.",
    )
}
