"""cookie-lab's JSON API against the real thing.

1. httpbin parity: python-requests' Session, pointed at httpbin's /cookies
   routes and at cookie-lab's /api/cookies routes, must end with the same jar
   (names, values, paths) and see the same redirects and JSON.
2. The OpenAPI document at /api/openapi.json must validate (OpenAPI 3.1).

Both servers run on 127.0.0.1, on ports the OS picks. Usage:
    python check_api.py path/to/cookie-lab
"""

import logging
import os
import re
import subprocess
import sys
import tempfile
import threading

import requests

# Quiet the reference server: its access log and its missing-flasgger notice.
logging.basicConfig(level=logging.ERROR)
logging.getLogger("werkzeug").setLevel(logging.ERROR)

from httpbin import app as httpbin_app  # noqa: E402
from openapi_spec_validator import validate  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

# (path on httpbin, path on cookie-lab) steps of each scenario.
SCENARIOS = {
    "set one cookie": [("/cookies/set?k=v", "/api/cookies/set?k=v")],
    "set several": [("/cookies/set?a=1&b=2", "/api/cookies/set?a=1&b=2")],
    # requests' own test_cookie_quote_wrapped.
    "quoted value": [('/cookies/set?foo="bar:baz"', '/api/cookies/set?foo="bar:baz"')],
    "set by path": [("/cookies/set/name/value", "/api/cookies/set/name/value")],
    "set then delete": [
        ("/cookies/set?k=v&keep=1", "/api/cookies/set?k=v&keep=1"),
        ("/cookies/delete?k", "/api/cookies/delete?k"),
    ],
    "delete what was never set": [("/cookies/delete?ghost", "/api/cookies/delete?ghost")],
    "list": [("/cookies", "/api/cookies")],
}

# Values that are not cookie-octets. Werkzeug sends them in Python's octal
# quoted form ("caf\303\251"), which is not RFC 6265 and which browsers keep
# with literal backslashes; cookie-lab percent-encodes them. The jars differ
# by design; what both servers read back must not.
READ_BACK_SCENARIOS = {
    "space": "k=a%20b",
    "utf-8": "k=caf%C3%A9",
    "comma": "k=a,b",
    "semicolon": "k=a%3Bb",
    "backslash": "k=a%5Cb",
    "percent": "k=50%25",
    "percent escape": "k=%2541",
    "empty": "k=",
}


def jar_of(session):
    return sorted((c.name, c.value, c.path, c.secure, c.expires is None) for c in session.cookies)


def run_steps(base, steps):
    session = requests.Session()
    seen = []
    for path in steps:
        response = session.get(base + path, timeout=10)
        seen.append(
            (
                [(r.status_code, r.headers.get("Location")) for r in response.history],
                response.status_code,
                response.json(),
            )
        )
    return jar_of(session), seen


def start_httpbin():
    server = make_server("127.0.0.1", 0, httpbin_app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def start_cookie_lab(binary, data_dir):
    env = dict(os.environ, RUST_LOG="info")
    env.pop("COOKIE_LAB_KEYS", None)
    process = subprocess.Popen(
        [binary, "--addr", "127.0.0.1:0", "--data-dir", data_dir],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in process.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, match.group(1)
    raise SystemExit("cookie-lab exited before it listened")


def main():
    binary = sys.argv[1]
    failures = []
    httpbin_server, httpbin = start_httpbin()
    with tempfile.TemporaryDirectory() as data_dir:
        process, lab = start_cookie_lab(binary, data_dir)
        try:
            for name, steps in SCENARIOS.items():
                reference = run_steps(httpbin, [s[0] for s in steps])
                ours = run_steps(lab, [s[1] for s in steps])
                # Redirect targets differ only by prefix (/cookies vs /api/cookies).
                ours_normalised = (
                    ours[0],
                    [
                        ([(code, loc.replace("/api/cookies", "/cookies") if loc else loc) for code, loc in hist], status, body)
                        for hist, status, body in ours[1]
                    ],
                )
                if ours_normalised == reference:
                    print(f"ok   httpbin parity: {name}: jar {ours[0]}")
                else:
                    failures.append(name)
                    print(f"FAIL httpbin parity: {name}\n  httpbin:    {reference}\n  cookie-lab: {ours}")

            for name, query in READ_BACK_SCENARIOS.items():
                reference = run_steps(httpbin, ["/cookies/set?" + query])[1][-1][2]
                ours = run_steps(lab, ["/api/cookies/set?" + query])[1][-1][2]
                if ours == reference:
                    print(f"ok   same value read back: {name}: {ours}")
                else:
                    failures.append(name)
                    print(f"FAIL same value read back: {name}\n  httpbin:    {reference}\n  cookie-lab: {ours}")

            document = requests.get(lab + "/api/openapi.json", timeout=10).json()
            try:
                validate(document)
                print(f"ok   OpenAPI {document['openapi']} document validates ({len(document['paths'])} paths)")
            except Exception as error:  # the validator raises several types
                failures.append("openapi")
                print(f"FAIL OpenAPI document: {error}")
        finally:
            process.terminate()
            process.wait(timeout=10)
            httpbin_server.shutdown()
    if failures:
        raise SystemExit(f"{len(failures)} API check(s) failed: {', '.join(failures)}")


if __name__ == "__main__":
    main()
