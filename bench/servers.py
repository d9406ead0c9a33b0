"""What the load and profile scripts share: the scenarios, the two servers
they can drive (cookie-lab and the floor, bench/floor/), and building them.

A scenario is the same request for both servers, except where the two name
things differently: the floor keeps the tutorial's plain `email` cookie,
cookie-lab its sealed `lab_session`. Budgets are cookie-lab's instructions
(and CPU) per request as a multiple of the floor's, from issue 14.
"""

import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
EMAIL = "ada@example.com"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cookies(count, size):
    """A Cookie header of `count` cookies of `size` bytes each (name=value)."""
    return "; ".join(f"c{i:03d}={'v' * (size - 5)}" for i in range(count))


def header_of(kib):
    """A Cookie header of exactly `kib` KiB, in cookies of 200 bytes."""
    whole = kib * 1024
    parts, length = [], 0
    while length + 202 <= whole:
        parts.append(f"c{len(parts):03d}={'v' * 195}")
        length += 202 if len(parts) > 1 else 200
    header = "; ".join(parts)
    pad = whole - len(header) - len("; pad=")
    return header + "; pad=" + "v" * max(pad, 1) if pad > 0 else header


class Scenario:
    def __init__(self, key, name, method, path, headers=None, body=None, budget=None, floor=True,
                 no_added_allocations=False):
        self.key, self.name, self.method, self.path = key, name, method, path
        self.headers, self.body, self.budget, self.floor = headers or {}, body, budget, floor
        # Heap allocations per request at most the floor's: what the
        # framework makes, and nothing cookie-lab adds.
        self.no_added_allocations = no_added_allocations

    def headers_for(self, server):
        """The headers, with the login cookie of `server` where one is needed."""
        headers = dict(self.headers)
        if self.key == "profile":
            headers["Cookie"] = server.login_cookie
        return headers


SCENARIOS = [
    Scenario("root", "GET /", "GET", "/", budget=1.5, no_added_allocations=True),
    Scenario("setcookie", "POST /code/set/cookie", "POST", "/code/set/cookie", FORM, "userID=alice", 1.5),
    Scenario("getcookie", "GET /getcookie", "GET", "/getcookie", {"Cookie": "userID=alice"}, budget=1.5,
             no_added_allocations=True),
    Scenario("login", "POST /login", "POST", "/login", FORM, "email=ada%40example.com&password=code", 1.75),
    Scenario("profile", "GET /profile", "GET", "/profile", budget=1.75),
    Scenario("api20", "GET /api/cookies (20 × 200 B)", "GET", "/api/cookies", {"Cookie": cookies(20, 200)},
             budget=1.0),
    Scenario("api50", "GET /api/cookies (50 × 80 B)", "GET", "/api/cookies", {"Cookie": cookies(50, 80)},
             budget=1.0),
]

# How cost grows with work: cookie-lab only (the floor has no /inspect).
GROWTH = [
    Scenario(f"{route}-{key}", f"GET {path} ({label})", "GET", path, {"Cookie": header}, floor=False)
    for route, path in (("api", "/api/cookies"), ("inspect", "/inspect"))
    for key, label, header in (
        ("1", "1 cookie", cookies(1, 40)),
        ("10", "10 cookies", cookies(10, 40)),
        ("50", "50 cookies", cookies(50, 40)),
        ("180", "180 cookies", cookies(180, 40)),
        ("8k", "8 KiB", header_of(8)),
        ("32k", "32 KiB", header_of(32)),
        ("64k", "64 KiB", header_of(64)),
    )
]
GROWTH_KEYS = [s.key for s in GROWTH]


def by_key(keys, table=None):
    """The scenarios named; the budgeted ones when none is, all the growth
    ones for `growth`."""
    table = table if table is not None else SCENARIOS + GROWTH
    if not keys:
        return SCENARIOS
    if keys == ["growth"]:
        return GROWTH
    known = {s.key: s for s in table}
    unknown = [k for k in keys if k not in known]
    if unknown:
        sys.exit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[k] for k in keys]


def release_profile_env():
    """cookie-lab's [profile.release] settings as CARGO_PROFILE_RELEASE_*
    variables, so the floor is built exactly as cookie-lab is."""
    with open(ROOT / "Cargo.toml", "rb") as f:
        profile = tomllib.load(f).get("profile", {}).get("release", {})
    env = {}
    for key, value in profile.items():
        if isinstance(value, dict):
            continue  # per-package overrides don't apply to the floor
        name = "CARGO_PROFILE_RELEASE_" + key.upper().replace("-", "_")
        env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def build(release, floor):
    """Builds cookie-lab (and the floor into target/floor); returns the binaries."""
    flag = ["--release"] if release else []
    subprocess.run(["cargo", "build", "--locked", "--bin", "cookie-lab", *flag], cwd=ROOT, check=True,
                   stdout=sys.stderr)
    kind = "release" if release else "debug"
    binaries = {"cookie-lab": ROOT / "target" / kind / "cookie-lab"}
    if floor:
        env = dict(os.environ, **release_profile_env())
        subprocess.run(["cargo", "build", "--locked", *flag, "--manifest-path", "bench/floor/Cargo.toml",
                        "--target-dir", "target/floor"], cwd=ROOT, check=True, env=env, stdout=sys.stderr)
        binaries["floor"] = ROOT / "target" / "floor" / kind / "axum-baseline"
    return binaries


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One running server: cookie-lab in its default configuration (but
    --login-rate 0, since the login scenario logs in thousands of times a
    second from one address on purpose) or the floor."""

    def __init__(self, kind, binary, data_dir, prefix=()):
        self.kind, self.port = kind, free_port()
        self.base = f"http://{HOST}:{self.port}"
        env = dict(os.environ)
        env.pop("COOKIE_LAB_KEYS", None)
        env.pop("RUST_LOG", None)  # the default log level
        if kind == "floor":
            command = [str(binary)]
            env["PORT"] = str(self.port)
        else:
            command = [str(binary), "--addr", f"{HOST}:{self.port}", "--data-dir", data_dir, "--login-rate", "0"]
        self.log = open(os.path.join(data_dir, f"{kind}.log"), "w")
        self.process = subprocess.Popen([*prefix, *command], stdout=self.log, stderr=self.log, env=env)
        self.wait_until_up()
        self.login_cookie = self.log_in()

    def wait_until_up(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        sys.exit(f"{self.kind} did not start; see {self.log.name}")

    def log_in(self):
        """The Cookie header of a logged-in user."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args):
                return None

        body = urllib.parse.urlencode({"email": EMAIL, "password": "code"}).encode()
        opener = urllib.request.build_opener(NoRedirect)
        response = opener.open(urllib.request.Request(self.base + "/login", data=body), timeout=10)
        pair = response.headers["Set-Cookie"].split(";", 1)[0]
        assert re.match(r"(lab_session|email)=.", pair), pair
        return pair

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wrk_script(directory, name, scenario, server):
    import json
    path = os.path.join(directory, re.sub(r"\W+", "_", f"{server.kind}_{name}") + ".lua")
    lines = [f"wrk.method = {json.dumps(scenario.method)}"]
    if scenario.body is not None:
        lines.append(f"wrk.body = {json.dumps(scenario.body)}")
    for key, value in scenario.headers_for(server).items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
