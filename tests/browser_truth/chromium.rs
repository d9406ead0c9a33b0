//! Headless Chromium through chromedriver, and its whole jar through the
//! DevTools protocol (`goog/cdp/execute`): `Network.getAllCookies` sees
//! every cookie, whatever its path or partition, unlike WebDriver's
//! `GET /cookie`, which sees only what the current document would be sent.

use std::path::Path;

use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::hosts::NON_LOOPBACK;
use super::webdriver::{CHROMIUM_ARGS, Driver, chromium_tools};

/// One DevTools command, sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

pub(crate) struct Chromium {
    pub(crate) client: Client,
    pub(crate) version: String,
    // Dropped after the client: the driver kills what is left of Chromium,
    // then the profile goes.
    _driver: Driver,
    _profile: TempDir,
}

impl Chromium {
    /// A fresh profile in a new headless Chromium.
    pub(crate) async fn start() -> Self {
        let (chromium, chromedriver) = chromium_tools();
        let driver = Driver::chromedriver(&chromedriver).await;
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        let client = connect(&driver, &chromium, profile.path()).await;
        let version = client
            .capabilities()
            .and_then(|c| c.get("browserVersion"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        Self {
            client,
            version,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("Chromium DevTools {cmd}: {e}"))
    }

    /// Every cookie in the jar, as the DevTools protocol gives it.
    pub(crate) async fn all_cookies(&self) -> Vec<Value> {
        let reply = self.cdp("Network.getAllCookies", json!({})).await;
        match reply.get("cookies") {
            Some(Value::Array(cookies)) => cookies.clone(),
            _ => panic!("Network.getAllCookies gave no cookie list: {reply}"),
        }
    }

    /// Empties the jar, partitioned cookies included.
    pub(crate) async fn clear_cookies(&self) {
        self.cdp("Network.clearBrowserCookies", json!({})).await;
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

async fn connect(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut args: Vec<String> = CHROMIUM_ARGS.map(str::to_owned).into();
    args.extend([
        // The non-loopback name goes to 127.0.0.1; every other name but
        // the loopback ones is never looked up, so nothing leaves this
        // machine. localhost and *.localhost are loopback to Chromium
        // without a lookup.
        format!(
            "--host-resolver-rules=MAP {NON_LOOPBACK} 127.0.0.1, MAP localhost 127.0.0.1, \
             MAP *.localhost 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
        ),
        "--window-size=800,600".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ]);
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    driver.session(capabilities, chromium).await
}
