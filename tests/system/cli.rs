//! The binary itself: help, start-up errors, the request log.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use crate::binary::RunningBinary;
use crate::common::{cookie_lab, serve_command};

#[test]
fn help_explains_every_flag_and_its_environment_variable() {
    let output = cookie_lab().arg("--help").output().unwrap();

    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--addr", "COOKIE_LAB_ADDR"),
        ("--data-dir", "COOKIE_LAB_DATA_DIR"),
        ("--demo-password", "COOKIE_LAB_DEMO_PASSWORD"),
        ("--keys", "COOKIE_LAB_KEYS"),
        ("--session-ttl", "COOKIE_LAB_SESSION_TTL"),
        ("--log-format", "COOKIE_LAB_LOG_FORMAT"),
        ("--allowed-hosts", "COOKIE_LAB_ALLOWED_HOSTS"),
        ("--login-rate", "COOKIE_LAB_LOGIN_RATE"),
        ("--header-read-timeout", "COOKIE_LAB_HEADER_READ_TIMEOUT"),
        ("--keep-alive-timeout", "COOKIE_LAB_KEEP_ALIVE_TIMEOUT"),
        ("--max-connections", "COOKIE_LAB_MAX_CONNECTIONS"),
        (
            "--max-connections-per-client",
            "COOKIE_LAB_MAX_CONNECTIONS_PER_CLIENT",
        ),
        ("--lab-peer-origin", "COOKIE_LAB_LAB_PEER_ORIGIN"),
    ] {
        assert!(
            help.contains(flag) && help.contains(env),
            "{flag} / {env} missing from:\n{help}"
        );
    }
}

#[test]
fn a_short_key_is_a_clear_start_up_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_command(dir.path())
        .env("COOKIE_LAB_KEYS", "c2hvcnQ=")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("key 1 of COOKIE_LAB_KEYS"), "{stderr}");
    assert!(stderr.contains("only 5 bytes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn connection_limits_from_the_environment_are_checked_at_start() {
    for (env, value, error) in [
        (
            "COOKIE_LAB_HEADER_READ_TIMEOUT",
            "0s",
            "--header-read-timeout must be between 1 second and 10 minutes, got 0s",
        ),
        (
            "COOKIE_LAB_KEEP_ALIVE_TIMEOUT",
            "2h",
            "--keep-alive-timeout must be between 1 second and 1 hour, got 2h",
        ),
        (
            "COOKIE_LAB_MAX_CONNECTIONS",
            "0",
            "--max-connections must be between 1 and 1000000, got 0",
        ),
        (
            "COOKIE_LAB_MAX_CONNECTIONS_PER_CLIENT",
            "0",
            "--max-connections-per-client must be at least 1",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = serve_command(dir.path()).env(env, value).output().unwrap();

        assert_eq!(output.status.code(), Some(1), "{env}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(error), "{env}={value}: {stderr}");
    }
}

#[test]
fn a_lab_peer_origin_that_is_not_an_origin_is_a_clear_start_up_error() {
    for (value, says) in [
        ("b.example", "is not a URL"),
        ("https://b.example/lab", "without a path"),
        ("ftp://b.example", "http or https"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = serve_command(dir.path())
            .args(["--lab-peer-origin", value])
            .output()
            .unwrap();

        assert_eq!(output.status.code(), Some(1), "{value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains("--lab-peer-origin must be an origin such as https://b.example")
                && stderr.contains(says),
            "{value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_malformed_key_file_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    std::fs::write(&path, "{not json").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();

    let output = serve_command(dir.path()).output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("is not a valid key ring"), "{stderr}");
}

/// Finding 10 of the 2026-11-29 review: a keys.json restored at 0644 was
/// loaded without a word.
#[test]
fn a_key_file_others_can_read_stops_the_start_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let created = cookie_lab()
        .args(["keys", "rotate", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let path = dir.path().join("keys.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let output = serve_command(dir.path()).output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("chmod 600 {}", path.display())),
        "{stderr}"
    );
}

#[test]
fn an_address_in_use_is_a_clear_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();

    let output = cookie_lab()
        .args(["--addr", &addr])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains(&format!("could not listen on {addr}"))
    );
}

#[test]
fn the_first_start_creates_a_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let mut server = RunningBinary::start(&data, &[]);
    server.sigterm();
    assert!(server.exit_within(Duration::from_secs(10)).success());

    let metadata = std::fs::metadata(data.join("keys.json")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
}

#[test]
fn the_request_log_names_cookies_but_never_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RunningBinary::start(dir.path(), &[]);
    let response = http_get(
        &server.addr,
        "/cookies",
        "secret_name=super-secret-value; other=also-secret",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    server.sigterm();
    assert!(server.exit_within(Duration::from_secs(10)).success());

    let log = server.log().join("\n");
    assert!(log.contains("cookies received"), "{log}");
    assert!(
        log.contains("secret_name (29 B)") && log.contains("other (16 B)"),
        "{log}"
    );
    assert!(
        log.contains("method=GET") && log.contains("route=/cookies"),
        "{log}"
    );
    assert!(
        log.contains("status=200") && log.contains("latency_us="),
        "{log}"
    );
    assert!(
        !log.contains("super-secret-value") && !log.contains("also-secret"),
        "{log}"
    );
}

fn http_get(addr: &str, path: &str, cookie: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn lint(args: &[&str], stdin: Option<&str>) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = cookie_lab()
        .arg("lint")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn lint_exits_1_naming_each_engines_reason_when_an_engine_rejects_the_cookie() {
    let (code, stdout, _) = lint(
        &[
            "--url",
            "http://localhost/",
            "Set-Cookie: __Host-id=1; Path=/app",
        ],
        None,
    );

    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("Set-Cookie: __Host-id=1; Path=/app\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("modelled: Chromium 156, Firefox ESR 153"),
        "{stdout}"
    );
    assert!(stdout.contains("  chromium: rejects it\n"), "{stdout}");
    assert!(stdout.contains("    EXCLUDE_INVALID_PREFIX: "), "{stdout}");
    assert!(stdout.contains("  firefox: rejects it\n"), "{stdout}");
    assert!(
        stdout.contains("    CookieRejectedInvalidPrefix: "),
        "{stdout}"
    );
    assert!(stdout.contains("      fix: "), "{stdout}");
    assert!(
        stdout.contains("Firefox logs the reason in the web console"),
        "{stdout}"
    );
}

#[test]
fn lint_exits_0_for_a_cookie_both_engines_keep_and_for_a_deletion() {
    let (code, stdout, _) = lint(&["id=1; Path=/; Secure; HttpOnly; SameSite=Lax"], None);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("  chromium, firefox: stores it\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: both engines store this cookie as sent"),
        "{stdout}"
    );

    let (code, stdout, _) = lint(&["session=1; Max-Age=99999999; Secure; SameSite=Lax"], None);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("(capped at 400 days)"), "{stdout}");
    assert!(stdout.contains("[session-without-httponly]"), "{stdout}");

    let (code, stdout, _) = lint(&["id=; Max-Age=0"], None);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("a deletion"), "{stdout}");
}

#[test]
fn lint_selects_engines_and_shows_where_they_differ() {
    let (code, stdout, _) = lint(&["--url", "http://localhost/p/q/r", "v=a\\x09b"], None);
    assert_eq!(code, Some(1), "Chromium drops a tab in the value");
    assert!(stdout.contains("  chromium: rejects it\n"), "{stdout}");
    assert!(stdout.contains("  firefox: stores it\n"), "{stdout}");

    let (code, stdout, _) = lint(
        &[
            "--engine",
            "firefox",
            "--url",
            "http://localhost/",
            "v=a\\x09b",
        ],
        None,
    );
    assert_eq!(code, Some(0), "Firefox alone stores it");
    assert!(!stdout.contains("chromium"), "{stdout}");

    let (code, stdout, _) = lint(&["--url", "http://localhost/p/q/r", "novalue"], None);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(r#"name "" value "novalue", domain localhost (host-only), path /p/q"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#"name "novalue" value """#), "{stdout}");
}

#[test]
fn lint_judges_secure_domain_and_context_against_the_url() {
    let (code, stdout, _) = lint(&["--url", "http://example.com/", "id=1; Secure"], None);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("EXCLUDE_SECURE_ONLY"), "{stdout}");

    let (code, _, _) = lint(&["--url", "http://localhost/", "id=1; Secure"], None);
    assert_eq!(code, Some(0), "localhost may set Secure cookies over http");

    let (code, stdout, _) = lint(&["id=1; Domain=other.org"], None);
    assert_eq!(code, Some(1));
    assert!(stdout.contains("EXCLUDE_DOMAIN_MISMATCH"), "{stdout}");
    assert!(
        stdout.contains("judged against https://example.com/"),
        "without --url, a Domain finding says it depends on the host: {stdout}"
    );

    let (code, stdout, _) = lint(
        &[
            "--context",
            "cross-site-iframe",
            "--url",
            "http://localhost/",
            "n=1",
        ],
        None,
    );
    assert_eq!(
        code,
        Some(0),
        "a third-party block is not an error: {stdout}"
    );
    assert!(
        stdout.contains("chromium: blocks it (third-party cookie setting)"),
        "{stdout}"
    );
    assert!(stdout.contains("firefox: stores it"), "{stdout}");
}

#[test]
fn lint_reads_stdin_one_header_per_line() {
    let (code, stdout, _) = lint(&[], Some("a=1\nSet-Cookie: b=2; SameSite=None\n\n"));

    assert_eq!(code, Some(1));
    assert!(stdout.contains("Set-Cookie: a=1\n"), "{stdout}");
    assert!(
        stdout.contains("EXCLUDE_SAMESITE_NONE_INSECURE"),
        "{stdout}"
    );
}

#[test]
fn lint_json_is_machine_readable() {
    let (code, stdout, _) = lint(&["--json", "id=1; SameSite=None"], None);

    assert_eq!(code, Some(1));
    let reports: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(reports[0]["verdict"], "rejected");
    assert_eq!(
        reports[0]["engines"]["chromium"]["reasons"][0]["id"],
        "EXCLUDE_SAMESITE_NONE_INSECURE"
    );
    assert_eq!(reports[0]["engines"]["firefox"]["stored"], false);
}

#[test]
fn lint_exits_2_on_unusable_input() {
    let (code, _, stderr) = lint(&["a=\\xZZ"], None);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("\\x"), "{stderr}");

    let (code, _, stderr) = lint(&[], Some(""));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no Set-Cookie line given"), "{stderr}");

    let (code, _, stderr) = lint(&["--url", "ftp://example.com/", "a=1"], None);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not ftp"), "{stderr}");

    let (code, stdout, _) = lint(&["--json"], Some("a=1\na=\\x0\n"));
    assert_eq!(code, Some(2), "unusable input wins over a clean line");
    assert!(stdout.contains("\"error\""), "{stdout}");
}

#[test]
fn lint_takes_a_har_with_each_lines_url_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("export.har");
    std::fs::write(
        &har,
        r#"{"log": {"version": "1.2",
          "pages": [{"id": "page_1", "title": "http://shop.localhost/cart"}],
          "entries": [
            {"pageref": "page_1", "_resourceType": "document",
             "request": {"method": "GET", "url": "http://shop.localhost/cart"},
             "response": {"status": 200, "headers": [
                {"name": "content-type", "value": "text/html"},
                {"name": "set-cookie", "value": "cart=1; Path=/; SameSite=Lax\n__Host-x=1; Path=/app"}]}},
            {"pageref": "page_1", "_resourceType": "image",
             "request": {"method": "GET", "url": "http://127.0.0.1/pixel.gif"},
             "response": {"status": 200, "headers": [{"name": "Set-Cookie", "value": "track=1"}]}}
          ]}}"#,
    )
    .unwrap();

    let (code, stdout, _) = lint(&["--har", har.to_str().unwrap()], None);

    assert_eq!(code, Some(1), "__Host-x breaks its prefix: {stdout}");
    assert!(stdout.contains("Set-Cookie: cart=1; Path=/; SameSite=Lax\n  set by http://shop.localhost/cart (same-site)"), "{stdout}");
    assert!(
        stdout.contains("Set-Cookie: __Host-x=1; Path=/app\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("set by http://127.0.0.1/pixel.gif (cross-site-image)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("chromium: blocks it (third-party cookie setting)"),
        "{stdout}"
    );

    std::fs::write(
        &har,
        r#"{"log": {"entries": [{"request": {"url": "https://a.example/"},
            "response": {"headers": [{"name": "content-type", "value": "text/html"}]}}]}}"#,
    )
    .unwrap();
    let (code, stdout, stderr) = lint(&["--har", har.to_str().unwrap()], None);
    assert_eq!(code, Some(2), "nothing to lint is not 'all fine': {stdout}");
    assert!(
        stderr.contains("Export HAR (with sensitive data)"),
        "{stderr}"
    );
}
