//! HAR files exported from browser dev tools: every response's Set-Cookie
//! lines, each with its own URL and, from the page it belongs to, its
//! request context.

use serde::Deserialize;

use super::{Job, setter_from_url};
use crate::engine::{Context, Subresource};
use crate::security::cross_site::site;

/// Said instead of "all is fine" when there is nothing to lint.
pub(super) const NO_SET_COOKIE: &str = "this HAR holds no Set-Cookie header, so there is nothing to lint. \
     Chrome exports a sanitised HAR by default, without cookies: in DevTools' Network panel use \
     \"Export HAR (with sensitive data)\". Firefox's \"Save All As HAR\" keeps them.";

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    pages: Vec<Page>,
    #[serde(default)]
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Page {
    id: String,
    /// Chrome writes the page's URL here; Firefox its document title.
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    pageref: Option<String>,
    request: Request,
    response: Response,
    /// Chrome's kind of request: `document`, `image`, `fetch`, `xhr`, …
    #[serde(rename = "_resourceType", default)]
    resource_type: Option<String>,
}

#[derive(Deserialize)]
struct Request {
    url: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct Content {
    #[serde(rename = "mimeType", default)]
    mime_type: String,
}

/// One job per Set-Cookie line in the HAR, in order. Several lines joined
/// by `\n` in one header value (how Chrome writes them) are split.
pub(super) fn jobs(text: &str) -> Result<Vec<Job>, String> {
    let har: Har = serde_json::from_str(text).map_err(|err| format!("not a HAR file ({err})"))?;
    let log = &har.log;
    let mut jobs = Vec::new();
    for (i, entry) in log.entries.iter().enumerate() {
        let lines: Vec<&str> = entry
            .response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
            .flat_map(|h| h.value.split('\n'))
            .filter(|line| !line.trim().is_empty())
            .collect();
        if lines.is_empty() {
            continue;
        }
        let setter = setter_from_url(&entry.request.url)
            .map_err(|err| format!("entry {}: {:?}: {err}", i + 1, entry.request.url))?;
        let (context, note) = context_of(log, entry);
        for line in lines {
            jobs.push(Job {
                input: line.to_owned(),
                setter: setter.clone(),
                context,
                url_given: true,
                note: note.clone(),
            });
        }
    }
    Ok(jobs)
}

/// The entry's context from its page: same-site when the page is on the
/// same site, a cross-site subresource otherwise. When the HAR doesn't say,
/// same-site, and a note saying so.
fn context_of(log: &Log, entry: &Entry) -> (Context, Option<String>) {
    let Some(page_url) = page_url(log, entry) else {
        return (
            Context::SameSite,
            Some(format!(
                "the HAR doesn't say which page loaded {}, so its context can't be told: judged as same-site",
                entry.request.url
            )),
        );
    };
    let host_of = |url: &str| url::Url::parse(url).ok()?.host_str().map(str::to_owned);
    let (Some(page_host), Some(host)) = (host_of(&page_url), host_of(&entry.request.url)) else {
        return (
            Context::SameSite,
            Some(
                "the page's URL can't be read, so the context can't be told: judged as same-site"
                    .to_owned(),
            ),
        );
    };
    if site(&page_host) == site(&host) {
        return (Context::SameSite, None);
    }
    let kind = entry.resource_type.as_deref().unwrap_or_default();
    let mime = entry
        .response
        .content
        .as_ref()
        .map_or("", |c| c.mime_type.as_str());
    let subresource = match kind {
        "image" => Some(Subresource::Image),
        "fetch" | "xhr" => Some(Subresource::Fetch),
        "document" | "iframe" | "subdocument" => Some(Subresource::Iframe),
        _ if mime.starts_with("image/") => Some(Subresource::Image),
        _ => None,
    };
    match subresource {
        Some(kind) => (Context::CrossSiteSubresource(kind), None),
        None => (
            Context::CrossSiteSubresource(Subresource::Fetch),
            Some(format!(
                "loaded by {page_url}, another site; the HAR doesn't say whether as an iframe, a fetch or \
                 an image, which the engines judge alike: judged as a cross-site fetch"
            )),
        ),
    }
}

/// The URL of the entry's page: its title when that is a URL (Chrome),
/// else the URL of the page's first entry (the document, in both engines'
/// exports).
fn page_url(log: &Log, entry: &Entry) -> Option<String> {
    let id = entry.pageref.as_deref()?;
    let page = log.pages.iter().find(|p| p.id == id)?;
    if url::Url::parse(&page.title).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Some(page.title.clone());
    }
    log.entries
        .iter()
        .find(|e| e.pageref.as_deref() == Some(id))
        .map(|e| e.request.url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har(entries: &str) -> String {
        format!(
            r#"{{"log": {{"version": "1.2", "pages": [{{"id": "page_1", "title": "https://shop.example/cart"}}],
                "entries": [{entries}]}}}}"#
        )
    }

    fn entry(url: &str, set_cookie: &str, kind: &str) -> String {
        format!(
            r#"{{"pageref": "page_1", "_resourceType": "{kind}", "request": {{"method": "GET", "url": "{url}"}},
                "response": {{"status": 200, "headers": [{{"name": "set-cookie", "value": "{set_cookie}"}}]}}}}"#
        )
    }

    #[test]
    fn each_line_gets_its_own_url_and_context() {
        let text = har(&[
            entry("https://shop.example/cart", "a=1\\nb=2; Path=/", "document"),
            entry("https://cdn.shop.example/x.js", "c=3", "script"),
            entry("https://ads.example/pixel.gif", "d=4", "image"),
            entry("https://widgets.example/api", "e=5", "fetch"),
        ]
        .join(","));

        let jobs = jobs(&text).unwrap();

        let summary: Vec<_> = jobs
            .iter()
            .map(|j| (j.input.as_str(), j.setter.host(), j.context))
            .collect();
        assert_eq!(
            summary,
            [
                ("a=1", "shop.example", Context::SameSite),
                ("b=2; Path=/", "shop.example", Context::SameSite),
                ("c=3", "cdn.shop.example", Context::SameSite),
                (
                    "d=4",
                    "ads.example",
                    Context::CrossSiteSubresource(Subresource::Image)
                ),
                (
                    "e=5",
                    "widgets.example",
                    Context::CrossSiteSubresource(Subresource::Fetch)
                ),
            ]
        );
        assert!(jobs.iter().all(|j| j.note.is_none()));
    }

    #[test]
    fn an_entry_whose_context_cant_be_told_says_so() {
        let text = r#"{"log": {"entries": [{"request": {"url": "https://a.example/"},
            "response": {"headers": [{"name": "Set-Cookie", "value": "a=1"}]}}]}}"#;
        let jobs = jobs(text).unwrap();
        assert_eq!(jobs[0].context, Context::SameSite);
        assert!(jobs[0].note.as_deref().unwrap().contains("can't be told"));
    }

    #[test]
    fn a_sanitised_har_has_nothing_to_lint() {
        let text = har(&entry("https://shop.example/", "", "document"));
        assert!(jobs(&text).unwrap().is_empty());
        assert!(jobs("not json").is_err());
    }
}
