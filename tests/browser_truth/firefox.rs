//! Headless Firefox ESR through geckodriver, and its whole jar through
//! WebDriver BiDi (`storage.getCookies` without a partition matches every
//! cookie, partitioned ones included). Classic WebDriver's `GET /cookie`
//! sees only what the current document would be sent, so it is not used.

use std::path::Path;

use fantoccini::Client;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::hosts::NON_LOOPBACK;
use super::webdriver::{Driver, firefox_capabilities, firefox_tools};

/// A BiDi command that gets no answer in this long has failed. Generous:
/// each takes milliseconds, but a busy 2-core machine can stall.
const BIDI_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) struct Firefox {
    pub(crate) client: Client,
    pub(crate) version: String,
    bidi: Mutex<Bidi>,
    _driver: Driver,
}

struct Bidi {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Firefox {
    /// A new headless Firefox; geckodriver gives each session a fresh
    /// profile.
    pub(crate) async fn start() -> Self {
        let (firefox, geckodriver) = firefox_tools();
        let driver = Driver::geckodriver(&geckodriver, None).await;
        let client = connect(&driver, &firefox).await;
        let capabilities = client.capabilities();
        let version = capabilities
            .and_then(|c| c.get("browserVersion"))
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let url = capabilities
            .and_then(|c| c.get("webSocketUrl"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("geckodriver gave no webSocketUrl: {capabilities:?}"))
            .to_owned();
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to Firefox's BiDi socket {url}: {e}"));
        Self {
            client,
            version,
            bidi: Mutex::new(Bidi { socket, next_id: 1 }),
            _driver: driver,
        }
    }

    /// Sends one BiDi command and waits for its result.
    pub(crate) async fn bidi(&self, method: &str, params: Value) -> Result<Value, String> {
        let mut bidi = self.bidi.lock().await;
        let id = bidi.next_id;
        bidi.next_id += 1;
        let command = json!({ "id": id, "method": method, "params": params });
        bidi.socket
            .send(Message::text(command.to_string()))
            .await
            .map_err(|e| format!("sending {method}: {e}"))?;
        let answer = tokio::time::timeout(BIDI_TIMEOUT, async {
            while let Some(message) = bidi.socket.next().await {
                let message =
                    message.map_err(|e| format!("reading the answer to {method}: {e}"))?;
                let Message::Text(text) = message else {
                    continue;
                };
                let reply: Value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("{method}: the answer is not JSON ({e}): {text}"))?;
                // Events have no id; answers to this command have its id.
                if reply.get("id").and_then(Value::as_u64) == Some(id) {
                    return Ok(reply);
                }
            }
            Err(format!("the BiDi socket closed before answering {method}"))
        })
        .await
        .map_err(|_| format!("{method}: no answer within {BIDI_TIMEOUT:?}"))??;
        match answer.get("type").and_then(Value::as_str) {
            Some("success") => Ok(answer.get("result").cloned().unwrap_or(Value::Null)),
            _ => Err(format!("{method} failed: {answer}")),
        }
    }

    /// Every cookie in the jar, as BiDi gives it.
    pub(crate) async fn all_cookies(&self) -> Vec<Value> {
        self.cookies_in(json!({})).await
    }

    /// The cookies `storage.getCookies` gives for these parameters.
    pub(crate) async fn cookies_in(&self, params: Value) -> Vec<Value> {
        let reply = self
            .bidi("storage.getCookies", params)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        match reply.get("cookies") {
            Some(Value::Array(cookies)) => cookies.clone(),
            _ => panic!("storage.getCookies gave no cookie list: {reply}"),
        }
    }

    /// Deletes every cookie BiDi sees.
    pub(crate) async fn clear_cookies(&self) {
        self.bidi("storage.deleteCookies", json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub(crate) async fn close(self) {
        let Self { client, bidi, .. } = self;
        let _ = bidi.into_inner().socket.close(None).await;
        let _ = client.close().await;
    }
}

async fn connect(driver: &Driver, firefox: &Path) -> Client {
    let mut capabilities = firefox_capabilities(
        firefox,
        json!({
            // The non-loopback name goes to 127.0.0.1 (localhost and
            // *.localhost are loopback to Firefox without a lookup).
            "network.dns.localDomains": NON_LOOPBACK,
            "network.proxy.type": 0,
        }),
    );
    // BiDi, for the whole jar.
    capabilities["webSocketUrl"] = json!(true);
    driver.session(capabilities, firefox).await
}
