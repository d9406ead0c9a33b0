//! The inspector and its workbench in a real browser.
//!
//! The delete button runs in both engines. The rest runs in Chromium only:
//! the inspector's verdicts and the workbench's refusals are the server's,
//! and what each engine does with each line is recorded in both by the
//! browser-truth recorder (`tests/browser_truth.rs`).

use crate::harness::{Browser, Engine, Profile, browser_test, in_both_engines};

in_both_engines!(a_workbench_cookie_is_stored_as_sent_and_the_delete_button_removes_it);

/// The "What it is" badge of the inspector row for `name`.
async fn kind_of(b: &Browser, name: &str) -> String {
    b.script(&format!(
        "const row = document.querySelector('[data-test=\"cookie-row\"][data-name=\"{name}\"]');
         return row ? row.querySelector('[data-test=\"cookie-kind\"]').innerText : null;"
    ))
    .await
    .as_str()
    .unwrap_or_else(|| panic!("no inspector row for {name}"))
    .to_owned()
}

#[tokio::test]
async fn a_cookie_set_by_javascript_shows_up_in_the_inspector() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.goto("/client").await;
        b.type_into("client-name", "theme").await;
        b.type_into("client-value", "dark mode").await;
        b.click("client-submit").await;

        b.goto("/inspect").await;

        assert_eq!(kind_of(&b, "theme").await, "plain cookie");
        let value = b
            .script("return document.querySelector('[data-name=\"theme\"] td.value').innerText;")
            .await;
        assert_eq!(value, "dark mode", "decoded");
    })
    .await;
}

#[tokio::test]
async fn the_workbench_refuses_same_site_none_without_secure_and_chromium_stores_nothing() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.goto("/inspect").await;
        b.type_into("w-name", "tracker").await;
        b.type_into("w-value", "1").await;
        b.find("w-same-site")
            .await
            .select_by_value("None")
            .await
            .expect("choose SameSite=None");
        b.click("w-submit").await;

        let outcome = b.find("outcome").await;
        assert_eq!(
            outcome
                .attr("data-outcome")
                .await
                .expect("attribute")
                .as_deref(),
            Some("refused")
        );
        let text = outcome.text().await.expect("text");
        assert!(
            text.contains("SameSite=None is only accepted together with Secure"),
            "{text}"
        );
        assert!(text.contains("Fix: Add Secure"), "{text}");
        assert!(
            b.cookie("tracker").await.is_none(),
            "nothing was sent, so nothing is stored"
        );
    })
    .await;
}

async fn a_workbench_cookie_is_stored_as_sent_and_the_delete_button_removes_it(engine: Engine) {
    browser_test(engine, Profile::Normal, |b| async move {
        b.goto("/inspect").await;
        b.type_into("w-name", "__Host-prefs").await;
        b.type_into("w-value", "compact").await;
        b.type_into("w-max-age", "600").await;
        b.click("w-secure").await;
        b.click("w-http-only").await;
        b.click("w-submit").await;
        let sent = b.text("sent-header").await;
        assert!(sent.starts_with("Set-Cookie: __Host-prefs=compact; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=600"), "{sent}");

        // Both engines keep a Secure, __Host- cookie from http://127.0.0.1
        // (a potentially trustworthy origin), as the engine model says.
        let stored = b.cookie("__Host-prefs").await.expect("the browser stored it");
        assert_eq!(stored.value(), "compact");
        assert_eq!(stored.secure(), Some(true));
        assert_eq!(stored.http_only(), Some(true));
        assert_eq!(stored.path(), Some("/"));
        let visible = b.script("return document.cookie;").await;
        assert!(!visible.as_str().unwrap_or_default().contains("__Host-prefs"), "HttpOnly: {visible}");

        b.goto("/inspect").await;
        assert_eq!(kind_of(&b, "__Host-prefs").await, "plain cookie");
        b.script(
            "document.querySelector('[data-name=\"__Host-prefs\"] [data-test=\"delete\"]').click(); return null;",
        )
        .await;
        b.find("no-cookies").await;
        assert!(b.cookie("__Host-prefs").await.is_none(), "deleted from the browser");
    })
    .await;
}

#[tokio::test]
async fn the_inspector_names_the_login_cookie_and_a_tampered_copy() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.log_in("ada@example.com", crate::harness::PASSWORD).await;
        b.find("success-message").await;
        b.goto("/inspect").await;
        let valid = kind_of(&b, "lab_session").await;
        assert!(
            valid.starts_with("login cookie · valid · ada@example.com"),
            "{valid}"
        );

        let genuine = b.cookie("lab_session").await.expect("logged in");
        let mut value = genuine.value().to_owned().into_bytes();
        let i = value.len() - 6;
        value[i] = if value[i] == b'Q' { b'R' } else { b'Q' };
        let mut tampered = genuine.clone();
        tampered.set_value(String::from_utf8(value).expect("ascii"));
        b.client.delete_cookie("lab_session").await.expect("delete");
        b.client
            .add_cookie(tampered)
            .await
            .expect("add the tampered cookie");
        b.goto("/inspect").await;

        let kind = kind_of(&b, "lab_session").await;
        assert!(kind.starts_with("login cookie · tampered"), "{kind}");
    })
    .await;
}
