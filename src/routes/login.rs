//! The tutorial's login app: login page, success page, profile page that
//! reads the email from a cookie, error page — with a sealed login cookie.

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use super::no_store;
use crate::cookies::login::{self, LoginClaims, LoginCookie};
use crate::cookies::{CookieContext, PreparedCookie, RequestCookies, SetCookies, prepare};
use crate::domain::{Email, Password};
use crate::error::{self, PageError};
use crate::security::proxy::ClientAddr;
use crate::security::throttle::{Refusal, Throttled};
use crate::session::{current_login, store_unavailable};
use crate::state::AppState;
use crate::templates::{LoginPage, Page, ProfilePage, SuccessPage, format_utc};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/profile", get(profile))
        .route("/logout", post(logout))
}

/// Flask: `@app.route('/login')` rendering `login.html`.
async fn login_page() -> impl IntoResponse {
    (no_store(), Page(LoginPage { email: "" }))
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

/// Flask: `@app.route('/success', methods=['POST'])` — password `code`
/// renders `success.html` and sets the cookie; anything else `error.html`.
async fn login(
    State(state): State<AppState>,
    ctx: CookieContext,
    ClientAddr(client): ClientAddr,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let form = error::form(form)?;
    let email = Email::parse(&form.email).map_err(|e| {
        PageError::unprocessable("That email address doesn't work", format!("{e}."))
            .with_link("/login", "Back to the login page")
    })?;
    let attempt = match state
        .throttle
        .attempt(client.throttle_key(), email.as_str())
        .await
    {
        Ok(attempt) => attempt,
        Err(Refusal::Throttled(throttled)) => {
            state.metrics.login_throttled(throttled.by);
            return Ok(too_many_attempts(throttled));
        }
        Err(Refusal::Unavailable(err)) => return Err(err.page().with_link("/login", "Try again")),
    };
    if !state
        .config
        .demo_password
        .matches(&Password::new(form.password))
    {
        attempt.failed();
        // Debug: the request line already says 401 for POST /login.
        tracing::debug!("login refused: wrong password");
        state.metrics.login_failed();
        return Err(PageError::new(
            StatusCode::UNAUTHORIZED,
            "Login failed",
            "The email or password is wrong. No cookie was set.",
        )
        .with_link("/login", "Try again"));
    }
    // Fail closed here too, although a login reads no revocation: a fresh
    // session id can't be revoked yet. But while the store is unreachable
    // this session could not be logged out (logout must record the id, and
    // would answer 503), and every page that checks the login answers 503
    // anyway. Handing out a cookie now would only create a session its owner
    // can't end; saying so before the cookie is set is clearer.
    if let Err(err) = state.revocations.ready_to_revoke().await {
        return Err(store_unavailable(&err).with_link("/login", "Try again"));
    }
    attempt.succeeded().await;
    state.metrics.login_succeeded();
    let now = OffsetDateTime::now_utc();
    let claims =
        LoginClaims::issue(&email, state.config.session_ttl, now).map_err(PageError::internal)?;
    let cookie = login_cookie(&state, &ctx, &claims, now)?;
    // Debug: the request line already says 200 for POST /login.
    tracing::debug!("login succeeded");
    let page = Page(SuccessPage {
        email: email.as_str(),
    });
    Ok((SetCookies::one(cookie), no_store(), page).into_response())
}

/// 429 with `Retry-After`, and a page saying when to try again.
fn too_many_attempts(throttled: Throttled) -> Response {
    let seconds = throttled.retry_after.as_secs().max(1);
    let at = OffsetDateTime::now_utc()
        + time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
    let whose = throttled.whose();
    let page = PageError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed logins",
        format!(
            "There were too many wrong passwords {whose} recently, so logins are paused. \
             Try again in {seconds} seconds (at {}).",
            format_utc(at)
        ),
    )
    .with_link("/login", "Back to the login page");
    (
        [(header::RETRY_AFTER, seconds.to_string())],
        no_store(),
        page,
    )
        .into_response()
}

/// Flask: `profile()` — `request.cookies.get('email')`, here opened and
/// checked; anything but a valid, unrevoked login cookie means "log in first".
async fn profile(
    State(state): State<AppState>,
    ctx: CookieContext,
    cookies: RequestCookies,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let found = match current_login(&state, &cookies, ctx.https(), now).await {
        Ok(found) => found,
        Err(err) => return store_unavailable(&err).into_response(),
    };
    match found {
        LoginCookie::Valid {
            claims,
            current_key,
        } => {
            let mut set = SetCookies::new();
            if !current_key {
                // Sealed by an older key: reseal under the current one with
                // the same claims, so the old key can be dropped later.
                match login_cookie(&state, &ctx, &claims, now) {
                    Ok(cookie) => set.push(cookie),
                    Err(err) => return err.into_response(),
                }
            }
            let page = ProfilePage {
                email: &claims.email,
                issued: format_utc(claims.iat),
                expires: format_utc(claims.exp),
            };
            (set, no_store(), Page(page)).into_response()
        }
        LoginCookie::Absent => Redirect::to("/login").into_response(),
        refused => {
            tracing::info!(reason = refused.label(), "login cookie refused");
            logged_out(&ctx, now)
        }
    }
}

/// Flask has no logout. Here it revokes the session until the cookie's own
/// expiry (so a copy of the cookie stops working too), clears the cookie,
/// and goes back to the login page.
async fn logout(
    State(state): State<AppState>,
    ctx: CookieContext,
    cookies: RequestCookies,
) -> Response {
    let now = OffsetDateTime::now_utc();
    // Read without the revocation check: revoking again is harmless, and an
    // unreachable store must fail the logout, not skip the revocation.
    let found = login::read(&state.keys, &cookies, ctx.https(), now);
    state.metrics.login_cookie_read(&found);
    if let LoginCookie::Valid { claims, .. } = found
        && let Err(err) = state.revocations.revoke(&claims.sid, claims.exp).await
    {
        // Clearing only the browser's copy would leave copies working:
        // say so, and let the user try again.
        return store_unavailable(&err).into_response();
    }
    logged_out(&ctx, now)
}

/// A 303 to `/login` that also removes the login cookie from the browser.
fn logged_out(ctx: &CookieContext, now: OffsetDateTime) -> Response {
    match prepare(&login::removal_spec(ctx.https()), ctx, now) {
        Ok(removal) => {
            (SetCookies::one(removal), no_store(), Redirect::to("/login")).into_response()
        }
        Err(refused) => PageError::internal(format!("login removal cookie refused: {refused:?}"))
            .into_response(),
    }
}

fn login_cookie(
    state: &AppState,
    ctx: &CookieContext,
    claims: &LoginClaims,
    now: OffsetDateTime,
) -> Result<PreparedCookie, PageError> {
    let value = login::seal(&state.keys, login::cookie_name(ctx.https()), claims)
        .map_err(PageError::internal)?;
    prepare(
        &login::cookie_spec(value, claims, ctx.https(), now),
        ctx,
        now,
    )
    .map_err(|refused| PageError::internal(format!("login cookie refused: {refused:?}")))
}
