use axum::response::IntoResponse;
use axum::routing::get;

use crate::routes::table::Routes;
use crate::templates::{ClientPage, Page};

pub(crate) fn router() -> Routes {
    Routes::new().route("/client", get(client))
}

/// The tutorial's "client-side cookie placement": JavaScript sets cookies
/// (static/client.js); the server reads them on the next request.
async fn client() -> impl IntoResponse {
    Page(ClientPage)
}
