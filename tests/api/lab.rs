//! The cross-site lab over HTTP, without a browser: its two sites, each
//! step's recording, redirect and headers (CSP, framing, CORS, exact
//! `Set-Cookie`s), its report, and the proof that its exemption from the
//! cross-site rules covers its own routes for site B and nothing else.
//! What real browsers do with it is `tests/browser/lab.rs`.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::Value;

use crate::common::{TestApp, oneshot_app, oneshot_with, set_cookies, test_config, text_of};
use cookie_lab::config::Origin;

/// The lab's two sites in the oneshot tier (its Host headers).
const A: &str = "http://127.0.0.1:5000";
const B: &str = "http://localhost:5000";

const CHROMIUM_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.108 Safari/537.36";

async fn get(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request, false).await
}

async fn post(app: &TestApp, url: &str, headers: &[(&str, &str)], form: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request, false).await
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Starts a run from A's page as Chromium 156; its id.
async fn start(app: &TestApp, form: &str) -> String {
    let response = post(
        app,
        &format!("{A}/lab/start"),
        &[
            ("user-agent", CHROMIUM_UA),
            ("sec-fetch-site", "same-origin"),
        ],
        form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let id = to
        .strip_prefix(&format!("{B}/lab/peer/prepare?id="))
        .unwrap_or_else(|| panic!("to B's prepare step: {to}"));
    id.to_owned()
}

async fn report(app: &TestApp, id: &str) -> Value {
    let response = get(app, &format!("{A}/api/lab/{id}"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn cell<'a>(report: &'a Value, cookie: &str, context: &str) -> &'a Value {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cookie"] == cookie && c["context"] == context)
        .unwrap_or_else(|| panic!("no cell {cookie} × {context}"))
}

#[tokio::test]
async fn the_lab_on_one_loopback_name_uses_the_other_and_its_csp_names_it() {
    let app = oneshot_app().await;

    for (a, b) in [(A, B), (B, A)] {
        let response = get(&app, &format!("{a}/lab"), &[]).await;

        assert_eq!(response.status(), StatusCode::OK);
        let csp = header(&response, "content-security-policy").unwrap();
        for directive in [
            format!("frame-src {b}"),
            format!("img-src 'self' {b}"),
            format!("connect-src 'self' {b}"),
            format!("form-action 'self' {b}"),
            "frame-ancestors 'none'".to_owned(),
        ] {
            assert!(csp.contains(&directive), "{directive} in {csp}");
        }
        assert_eq!(
            header(&response, "x-frame-options").as_deref(),
            Some("DENY")
        );
        let page = response.text().await.unwrap();
        assert_eq!(text_of(&page, "lab-a"), a);
        assert_eq!(text_of(&page, "lab-b"), b);
        assert!(page.contains("data-test=\"lab-run\""), "a run button");
        assert!(!page.contains("data-autostart"));
    }
    let page = get(&app, &format!("{A}/lab?run=1"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-autostart"), "?run=1 starts on load");
}

#[tokio::test]
async fn on_a_remote_host_without_a_peer_origin_the_lab_says_so_and_starts_nothing() {
    let app = oneshot_app().await;

    let page = get(&app, "http://cookies.example.com/lab", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let text = text_of(&page.text().await.unwrap(), "lab-no-peer");
    assert!(text.contains("--lab-peer-origin"), "{text}");
    assert!(text.contains("your own computer"), "{text}");

    let refused = post(
        &app,
        "http://cookies.example.com/lab/start",
        &[("sec-fetch-site", "same-origin")],
        "",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn with_a_peer_origin_the_lab_uses_it_and_the_peer_itself_says_it_is_site_b() {
    let mut config = test_config(std::path::Path::new("/nonexistent/oneshot"));
    config.lab_peer_origin = Some(Origin::parse("http://b.example").unwrap());
    let app = oneshot_with(config).await;

    let page = get(&app, "http://a.example/lab", &[]).await;
    let csp = header(&page, "content-security-policy").unwrap();
    assert!(csp.contains("frame-src http://b.example;"), "{csp}");
    assert_eq!(
        text_of(&page.text().await.unwrap(), "lab-b"),
        "http://b.example"
    );

    let peer = get(&app, "http://b.example/lab", &[])
        .await
        .text()
        .await
        .unwrap();
    let text = text_of(&peer, "lab-no-peer");
    assert!(text.contains("is the lab's site B"), "{text}");
    assert!(
        !peer.contains("data-test=\"lab-run\""),
        "no run from site B"
    );
}

#[tokio::test]
async fn b_sets_six_lab_cookies_at_top_level_valued_with_the_run_and_sends_the_browser_back() {
    let app = oneshot_app().await;
    let id = start(
        &app,
        "chromium_third_party=block&firefox_third_party=partition",
    )
    .await;

    let response = get(&app, &format!("{B}/lab/peer/prepare?id={id}"), &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{A}/lab/prepared?id={id}"));
    let cookies = set_cookies(response.headers());
    let without_expiry: Vec<String> = cookies
        .iter()
        .map(|c| {
            c.split("; ")
                .filter(|a| !a.starts_with("Max-Age") && !a.starts_with("Expires"))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    assert_eq!(
        without_expiry,
        [
            format!("lab-strict={id}; HttpOnly; SameSite=Strict; Path=/"),
            format!("lab-lax={id}; HttpOnly; SameSite=Lax; Path=/"),
            format!("lab-none={id}; HttpOnly; SameSite=None; Secure; Path=/"),
            format!("lab-unspec={id}; HttpOnly; Path=/"),
            format!("lab-part={id}; HttpOnly; Partitioned; Secure; Path=/"),
            format!("__Host-lab-chips={id}; HttpOnly; SameSite=None; Partitioned; Secure; Path=/"),
        ]
    );
    assert!(
        cookies.iter().all(|c| c.contains("Max-Age=600")),
        "{cookies:?}"
    );

    // A sets its own, for the redirect chain's middle hop.
    let back = get(&app, &format!("{A}/lab/prepared?id={id}"), &[]).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), format!("/lab?id={id}&step=embedded"));
    assert_eq!(set_cookies(back.headers()).len(), 6);
}

#[tokio::test]
async fn each_step_records_this_runs_cookies_and_the_report_puts_the_model_beside_them() {
    let app = oneshot_app().await;
    let id = start(&app, "").await;
    get(&app, &format!("{B}/lab/peer/prepare?id={id}"), &[]).await;
    get(&app, &format!("{A}/lab/prepared?id={id}"), &[]).await;
    let carried = format!("lab-lax={id}; lab-strict=an-older-run; userID=x; lab-none={id}");

    let link = get(
        &app,
        &format!("{B}/lab/peer/visit?id={id}&column=link"),
        &[
            ("cookie", carried.as_str()),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-dest", "document"),
        ],
    )
    .await;

    assert_eq!(link.status(), StatusCode::OK);
    let page = link.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "data-next=\"/lab/peer/visit?id={id}&#38;column=same-site\""
        )),
        "B's page goes on to B: {page}"
    );
    let report = report(&app, &id).await;
    assert_eq!(report["engine"], "chromium");
    assert_eq!(report["engine_version"], "156");
    assert_eq!(report["policy"]["chromium_third_party"], "block");
    let lax = cell(&report, "lab-lax", "link");
    assert_eq!(
        (&lax["observed"], &lax["predicted"], &lax["agrees"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(true))
    );
    let strict = cell(&report, "lab-strict", "link");
    assert_eq!(
        strict["observed"], false,
        "an older run's value is not this run's cookie"
    );
    assert_eq!(strict["predicted"], false);
    assert_eq!(
        strict["reason"],
        "Strict: not sent on a request that another site's page started."
    );
    let unspec = cell(&report, "lab-unspec", "link");
    assert_eq!(
        (&unspec["observed"], &unspec["predicted"], &unspec["agrees"]),
        (&Value::Bool(false), &Value::Bool(true), &Value::Bool(false))
    );
    let mismatched: Vec<&str> = report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["agrees"] == false)
        .map(|c| c["cookie"].as_str().unwrap())
        .collect();
    assert_eq!(
        mismatched,
        ["lab-unspec", "lab-part", "__Host-lab-chips"],
        "the cookies the model says a link carries and this request did not"
    );
    assert_eq!(report["mismatches"], 3);
    let column = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "link")
        .unwrap();
    assert_eq!(column["stale"], serde_json::json!(["lab-strict"]));
    assert_eq!(
        (&column["fetch_site"], &column["fetch_dest"]),
        (&Value::from("cross-site"), &Value::from("document"))
    );
    assert_eq!(
        cell(&report, "lab-lax", "iframe")["observed"],
        Value::Null,
        "not reached yet"
    );
    assert_eq!(report["done"], false);
}

#[tokio::test]
async fn the_steps_lead_from_one_to_the_next_through_both_sites() {
    let app = oneshot_app().await;
    let id = start(&app, "").await;
    get(&app, &format!("{B}/lab/peer/prepare?id={id}"), &[]).await;
    get(&app, &format!("{A}/lab/prepared?id={id}"), &[]).await;
    let visit = |column: &str| format!("{B}/lab/peer/visit?id={id}&column={column}");

    let same_site = get(&app, &visit("same-site"), &[]).await;
    assert_eq!(location(&same_site), format!("{A}/lab?id={id}&step=post"));
    let form = post(
        &app,
        &visit("form-post"),
        &[("sec-fetch-site", "cross-site"), ("origin", A)],
        "from=a",
    )
    .await;
    assert_eq!(
        form.status(),
        StatusCode::SEE_OTHER,
        "B takes A's form: the exemption"
    );
    assert_eq!(location(&form), format!("{A}/lab?id={id}&step=redirect"));

    let start_chain = get(&app, &format!("{A}/lab/redirect?id={id}"), &[]).await;
    assert_eq!(start_chain.status(), StatusCode::FOUND);
    assert_eq!(
        location(&start_chain),
        format!("{B}/lab/peer/hop?id={id}&n=1")
    );
    let hop1 = get(&app, &location(&start_chain), &[]).await;
    assert_eq!(
        (hop1.status(), location(&hop1)),
        (StatusCode::FOUND, format!("{A}/lab/hop?id={id}"))
    );
    let strict = format!("lab-strict={id}");
    let hop2 = get(&app, &location(&hop1), &[("cookie", strict.as_str())]).await;
    assert_eq!(
        (hop2.status(), location(&hop2)),
        (StatusCode::FOUND, format!("{B}/lab/peer/hop?id={id}&n=3"))
    );
    let hop3 = get(&app, &location(&hop2), &[]).await;
    assert_eq!(location(&hop3), format!("{A}/lab?step=popup&id={id}"));

    let popup = get(&app, &visit("popup"), &[]).await;
    assert_eq!(popup.status(), StatusCode::OK);
    let report = report(&app, &id).await;
    assert_eq!(report["popup_seen"], true);
    let middle = cell(&report, "lab-strict", "redirect-2");
    assert_eq!(
        middle["site"], "a",
        "the middle hop carries A's own cookies"
    );
    assert_eq!(middle["observed"], true);
    assert_eq!(
        middle["predicted"], true,
        "Chromium ignores the chain (its rule is off)"
    );

    // Steps go only where they belong.
    for wrong in [
        get(
            &app,
            &format!("{A}/lab/peer/visit?id={id}&column=link"),
            &[],
        )
        .await,
        get(&app, &visit("form-post"), &[]).await,
        get(&app, &visit("iframe"), &[]).await,
        get(&app, &format!("{B}/lab/peer/hop?id={id}&n=2"), &[]).await,
        get(
            &app,
            &format!("{B}/lab/peer/visit?id=nope&column=link"),
            &[],
        )
        .await,
        get(
            &app,
            &format!("{B}/lab/peer/visit?id=AAAAAAAAAAAAAAAAAAAAAA&column=link"),
            &[],
        )
        .await,
    ] {
        assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn b_in_an_iframe_may_be_framed_by_a_alone_and_tries_to_set_every_kind() {
    let app = oneshot_app().await;
    let id = start(&app, "").await;

    let frame = get(
        &app,
        &format!("{B}/lab/peer/frame?id={id}"),
        &[("sec-fetch-dest", "iframe")],
    )
    .await;

    assert_eq!(frame.status(), StatusCode::OK);
    assert_eq!(header(&frame, "x-frame-options"), None, "framable");
    let csp = header(&frame, "content-security-policy").unwrap();
    assert!(csp.contains(&format!("frame-ancestors {A};")), "{csp}");
    let names: Vec<String> = set_cookies(frame.headers())
        .iter()
        .map(|c| c.split('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "lab-frame-strict",
            "lab-frame-lax",
            "lab-frame-none",
            "lab-frame-unspec",
            "lab-frame-part",
            "__Host-lab-frame-chips"
        ]
    );
    let page = frame.text().await.unwrap();
    assert!(page.contains(&format!("data-parent=\"{A}\"")));

    // B's other answers are not framable.
    for path in [
        format!("/lab/peer/img?id={id}"),
        format!("/lab/peer/visit?id={id}&column=link"),
        format!("/lab/peer/cors?id={id}&column=cors-fetch"),
    ] {
        let response = get(&app, &format!("{B}{path}"), &[]).await;
        assert_eq!(
            header(&response, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_credentialed_fetch_is_allowed_for_exactly_site_a() {
    let app = oneshot_app().await;
    let id = start(&app, "").await;
    let url = format!("{B}/lab/peer/cors?id={id}&column=cors-fetch");

    let from_a = get(
        &app,
        &url,
        &[("origin", A), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(from_a.status(), StatusCode::OK);
    assert_eq!(
        header(&from_a, "access-control-allow-origin").as_deref(),
        Some(A)
    );
    assert_eq!(
        header(&from_a, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(header(&from_a, "vary").as_deref(), Some("Origin"));
    assert_eq!(
        set_cookies(from_a.headers()).len(),
        6,
        "the fetch's response tries to set each kind"
    );

    for other in ["http://evil.example", "null", B] {
        let response = get(
            &app,
            &url.replace("cors-fetch", "partition-readback"),
            &[("origin", other)],
        )
        .await;
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{other}"
        );
        assert!(
            set_cookies(response.headers()).is_empty(),
            "the second fetch only reads"
        );
    }
    let image = get(&app, &format!("{B}/lab/peer/img?id={id}"), &[]).await;
    assert_eq!(header(&image, "content-type").as_deref(), Some("image/gif"));
}

#[tokio::test]
async fn clearing_sends_a_removal_for_every_lab_cookie_in_both_jars_then_goes_to_b() {
    let app = oneshot_app().await;

    let response = post(
        &app,
        &format!("{A}/lab/clear"),
        &[("sec-fetch-site", "same-origin")],
        "",
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let removals = set_cookies(response.headers());
    assert_eq!(
        removals.len(),
        36,
        "18 names, in A's own jar and its partition: {removals:?}"
    );
    assert!(
        removals.iter().all(|r| r.contains("Max-Age=0")),
        "{removals:?}"
    );
    let partitioned = removals
        .iter()
        .filter(|r| r.contains("Partitioned"))
        .count();
    assert_eq!(partitioned, 18);
    let page = response.text().await.unwrap();
    let frame = page
        .split("data-frame=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let post_to = page
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        frame.starts_with(&format!("{B}/lab/peer/clear-frame?id=")),
        "{frame}"
    );
    assert!(
        post_to.starts_with(&format!("{B}/lab/peer/clear?id=")),
        "{post_to}"
    );

    let b_frame = get(&app, &frame.replace("&#38;", "&"), &[]).await;
    assert_eq!(header(&b_frame, "x-frame-options"), None);
    assert!(
        header(&b_frame, "content-security-policy")
            .unwrap()
            .contains(&format!("frame-ancestors {A};"))
    );
    assert_eq!(set_cookies(b_frame.headers()).len(), 36);
    let b_top = post(
        &app,
        post_to,
        &[("sec-fetch-site", "cross-site"), ("origin", A)],
        "from=lab",
    )
    .await;
    assert_eq!(b_top.status(), StatusCode::OK, "B takes A's form");
    assert_eq!(set_cookies(b_top.headers()).len(), 36);
    let page = b_top.text().await.unwrap();
    assert!(page.contains(&format!("data-next=\"{A}/lab?cleared=1\"")));
    let a_frame = page
        .split("data-frame=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        a_frame.starts_with(&format!("{A}/lab/peer/clear-frame?id=")),
        "A's jar under B too: {a_frame}"
    );
    let a_frame = get(&app, a_frame, &[]).await;
    assert!(
        header(&a_frame, "content-security-policy")
            .unwrap()
            .contains(&format!("frame-ancestors {B};"))
    );
}

#[tokio::test]
async fn an_unknown_run_is_a_json_404_and_the_api_is_documented() {
    let app = oneshot_app().await;

    for id in ["AAAAAAAAAAAAAAAAAAAAAA", "not-an-id", "a%20b"] {
        let response = get(&app, &format!("{A}/api/lab/{id}"), &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("10 minutes"),
            "{body}"
        );
    }
    let page = get(&app, &format!("{A}/lab?id=AAAAAAAAAAAAAAAAAAAAAA"), &[]).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    let document: Value = get(&app, &format!("{A}/api/openapi.json"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/api/lab/{run}"]["get"].is_object());
    let cell = &document["components"]["schemas"]["Cell"]["properties"];
    for field in ["cookie", "context", "observed", "predicted", "reason"] {
        assert!(cell[field].is_object(), "Cell.{field}: {cell}");
    }
    let report = &document["components"]["schemas"]["Report"]["properties"];
    for field in ["engine", "engine_version", "policy", "cells"] {
        assert!(report[field].is_object(), "Report.{field}: {report}");
    }
}

/// Every page and API answer a browser may load, plus near misses of the
/// exempt prefix.
const NOT_EXEMPT_GETS: [&str; 20] = [
    "/",
    "/getcookie",
    "/cookies",
    "/cookies/delete",
    "/login",
    "/profile",
    "/client",
    "/inspect",
    "/lab",
    "/lab/prepared?id=AAAAAAAAAAAAAAAAAAAAAA",
    "/lab/hop?id=AAAAAAAAAAAAAAAAAAAAAA",
    "/lab/redirect?id=AAAAAAAAAAAAAAAAAAAAAA",
    "/api/cookies",
    "/api/openapi.json",
    "/static/app.js",
    "/healthz",
    "/lab/peer",
    "/lab/peers/frame",
    "/labpeer/frame",
    "/lab/peer/../login",
];

#[tokio::test]
async fn no_route_but_the_labs_for_its_other_site_gained_the_exemption() {
    let app = oneshot_app().await;

    for (path, content_type, body) in crate::security::STATE_CHANGING {
        let response = app
            .send(
                app.client
                    .post(app.url(path))
                    .header(CONTENT_TYPE, content_type)
                    .header("sec-fetch-site", "cross-site")
                    .header("origin", B)
                    .body(body),
                false,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "cross-site POST {path}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{path}");
    }
    for path in NOT_EXEMPT_GETS {
        let response = get(
            &app,
            &format!("{A}{path}"),
            &[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-dest", "iframe"),
            ],
        )
        .await;
        let csp = header(&response, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            header(&response, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{path}"
        );
    }
    // A cross-site GET of a demo route is still marked: it sets nothing.
    let demo = get(
        &app,
        &format!("{A}/api/cookies/set?a=1"),
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    assert!(set_cookies(demo.headers()).is_empty());
    // And the exempt routes refuse to set anything but lab cookies: their
    // names are fixed by the lab, whatever the request asks.
    let id = start(&app, "").await;
    let frame = get(
        &app,
        &format!("{B}/lab/peer/frame?id={id}&name=userID"),
        &[],
    )
    .await;
    assert!(
        set_cookies(frame.headers())
            .iter()
            .all(|c| c.contains("lab-"))
    );
}
