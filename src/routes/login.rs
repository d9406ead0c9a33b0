//! The tutorial's login app: login page, success page, profile page that
//! reads the email from a cookie, error page — with a sealed login cookie.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;

use super::no_store;
use crate::cookies::login::{self, LoginClaims, LoginCookie};
use crate::cookies::{CookieContext, PreparedCookie, RequestCookies, SetCookies};
use crate::domain::{Email, Password};
use crate::error::{PageError, PageForm};
use crate::routes::table::Routes;
use crate::security::proxy::ClientAddr;
use crate::security::throttle::{Refusal, Throttled};
use crate::session::{current_login, presented_sessions, revoke_all};
use crate::state::AppState;
use crate::templates::{LoginPage, Page, ProfilePage, SuccessPage, format_utc};

pub(crate) fn router() -> Routes {
    Routes::new()
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
    cookies: RequestCookies,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let LoginForm { email, password } = form;
    // The form's own String becomes the Email, and later the claims': one
    // allocation for the address, by the form parser.
    let email = Email::parse_owned(email).map_err(|e| {
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
            return Err(too_many_attempts(&throttled));
        }
        Err(Refusal::Unavailable(err)) => return Err(err.page().with_link("/login", "Try again")),
    };
    if !state.config.demo_password.matches(&Password::new(password)) {
        attempt.failed();
        // Debug: the request line already says 401 for POST /login.
        tracing::debug!("login refused: wrong password");
        state.metrics.login_failed();
        return Err(PageError::wrong_password());
    }
    // Fail closed: while the store can't record a logout, a session issued
    // now could never be ended, so none is issued. The epoch sealed into it
    // comes from the same answer.
    let epoch = match state.revocations.epoch_for_new_session().await {
        Ok(epoch) => epoch,
        Err(err) => return Err(PageError::store_unavailable(err).with_link("/login", "Try again")),
    };
    if let Err(limited) = state
        .login_rate
        .check(client.throttle_key(), email.as_str())
    {
        tracing::warn!(client = %client.throttle_key(), "login rate limit: too many new sessions");
        state.metrics.login_rate_limited();
        return Err(PageError::too_many_sessions(limited.retry_after));
    }
    let now = OffsetDateTime::now_utc();
    // Logging in again ends the sessions this browser presented, so a copy
    // of the old cookie (perhaps another user's) stops working too.
    let presented = presented_sessions(&state, &cookies, ctx.https(), now);
    if let Err(err) = revoke_all(&state, &presented).await {
        return Err(PageError::store_unavailable(err).with_link("/login", "Try again"));
    }
    attempt.succeeded().await;
    state.metrics.login_succeeded();
    let claims = LoginClaims::issue_to(email, state.config.session_ttl, now, epoch)
        .map_err(PageError::internal)?;
    let cookie = login_cookie(&state, &ctx, &claims, now)?;
    // Debug: the request line already says 200 for POST /login.
    tracing::debug!("login succeeded");
    let page = Page(SuccessPage {
        email: &claims.email,
    });
    Ok((SetCookies::one(cookie), no_store(), page).into_response())
}

/// 429 with `Retry-After`, and a page saying when to try again.
fn too_many_attempts(throttled: &Throttled) -> PageError {
    let seconds = throttled.retry_after.as_secs().max(1);
    let at = OffsetDateTime::now_utc()
        + time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
    PageError::too_many_attempts(throttled.retry_after, &format_utc(at), throttled.whose())
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
        Err(err) => return PageError::store_unavailable(err).into_response(),
    };
    match found {
        LoginCookie::Valid {
            claims,
            current_key,
        } => {
            let set = if current_key {
                SetCookies::new()
            } else {
                // Sealed by an older key: reseal under the current one with
                // the same claims, so the old key can be dropped later.
                match login_cookie(&state, &ctx, &claims, now) {
                    Ok(cookie) => SetCookies::one(cookie),
                    Err(err) => return err.into_response(),
                }
            };
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

/// Flask has no logout. Here it revokes every session the browser presented
/// (a copied cookie stops working too, and a planted one can't hide the real
/// one) until each cookie's own expiry, clears the cookie, and goes back to
/// the login page.
async fn logout(
    State(state): State<AppState>,
    ctx: CookieContext,
    cookies: RequestCookies,
) -> Response {
    let now = OffsetDateTime::now_utc();
    // Read without the revocation check: revoking again is harmless, and an
    // unreachable store must fail the logout, not skip the revocation.
    let presented = presented_sessions(&state, &cookies, ctx.https(), now);
    if let Err(err) = revoke_all(&state, &presented).await {
        // Clearing only the browser's copy would leave copies working:
        // say so, and let the user try again.
        return PageError::logout_failed(err).into_response();
    }
    logged_out(&ctx, now)
}

/// A 303 to `/login` that also removes the login cookie from the browser.
fn logged_out(ctx: &CookieContext, now: OffsetDateTime) -> Response {
    match login::prepare_removal(ctx, now) {
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
    login::prepare_cookie(value, claims, ctx, now)
        .map_err(|refused| PageError::internal(format!("login cookie refused: {refused:?}")))
}
