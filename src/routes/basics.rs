//! The tutorial's first app: a form that sets `userID`, a page that reads it.

use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::cookies::{CookieContext, CookieSpec, RequestCookies, SameSite, SetCookies, prepare};
use crate::domain::UserId;
use crate::error::{PageError, PageForm};
use crate::routes::table::Routes;
use crate::templates::{GetCookiePage, Page, ReadCookiePage};

pub(crate) const USER_ID_COOKIE: &str = "userID";

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/", get(index))
        .route("/code/set/cookie", post(set_user_id))
        .route("/getcookie", get(get_user_id))
}

/// Flask: `@app.route('/')` rendering `index.html`.
async fn index() -> axum::response::Response {
    crate::templates::index_page()
}

#[derive(Deserialize)]
struct UserIdForm {
    #[serde(rename = "userID")]
    user_id: String,
}

/// Flask: `setcookie()` — `resp.set_cookie('userID', user)`.
async fn set_user_id(
    ctx: CookieContext,
    PageForm(form): PageForm<UserIdForm>,
) -> Result<impl IntoResponse, PageError> {
    let user_id = UserId::parse(form.user_id)
        .map_err(|e| PageError::unprocessable("No user ID", e.to_string()))?;
    let spec = CookieSpec::new(USER_ID_COOKIE, user_id.as_str()).same_site(SameSite::Lax);
    let cookie =
        prepare(&spec, &ctx, OffsetDateTime::now_utc()).map_err(|r| PageError::refused(&r))?;
    let page = ReadCookiePage {
        user_id: user_id.as_str(),
        set_cookie: cookie.header(),
    };
    let html = Page(page).into_response();
    Ok((SetCookies::one(cookie), html))
}

/// Flask: `getcookie()` — `request.cookies.get('userID')`.
async fn get_user_id(cookies: RequestCookies) -> impl IntoResponse {
    Page(GetCookiePage {
        user_id: cookies.get(USER_ID_COOKIE).map(|c| c.value()),
    })
    .into_response()
}
