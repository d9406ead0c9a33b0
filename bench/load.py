"""Drives cookie-lab with wrk and reports what each request costs the server.

Server CPU time per request is the figure a load generator can't cap: it is
read from /proc (every thread's schedstat, in nanoseconds) before and after
each run and divided by the requests wrk completed. Everything is judged as
a ratio to GET /healthz in the same run, because absolute numbers drift on a
shared machine. "wrk sleeps/request" is how often the load generator was idle
and had to be woken by a response: on loopback that wake-up (an IPI to the
other CPU) is paid in the server's kernel time, and it grows as the server
gets slower per request. Run through bench/load.sh, which builds the binary.
"""

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HOST = "127.0.0.1"
SERVER_CPU, CLIENT_CPU = "0", "1"


def scenarios(login_cookie):
    twenty = "; ".join(f"c{i:02d}={'v' * 196}" for i in range(20))
    return [
        # (name, method, path, headers, body, budget ratio of CPU/request to /healthz)
        ("GET /healthz", "GET", "/healthz", {}, None, None),
        ("GET /", "GET", "/", {}, None, 1.25),
        ("POST /code/set/cookie", "POST", "/code/set/cookie",
         {"Content-Type": "application/x-www-form-urlencoded"}, "userID=alice", 1.25),
        ("GET /getcookie", "GET", "/getcookie", {"Cookie": "userID=alice"}, None, 1.25),
        ("POST /login", "POST", "/login",
         {"Content-Type": "application/x-www-form-urlencoded"}, "email=ada%40example.com&password=code", 1.45),
        ("GET /profile", "GET", "/profile", {"Cookie": f"lab_session={login_cookie}"}, None, 1.45),
        ("GET /api/cookies (20 × 200 B)", "GET", "/api/cookies", {"Cookie": twenty}, None, 1.25),
    ]


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in nanoseconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total


def user_sys_ticks(pid):
    """utime and stime of the whole process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak_rss(pid):
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def wrk_script(directory, name, method, headers, body):
    path = os.path.join(directory, re.sub(r"\W+", "_", name) + ".lua")
    lines = [f"wrk.method = {json.dumps(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for key, value in headers.items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def parse_duration_ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(url, script, connections, seconds):
    command = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
               "--latency", "-s", script, url]
    # wrk is the only child that ends in between, so the change in the
    # children's voluntary context switches is how often wrk went to sleep.
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_nvcsw
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    sleeps = resource.getrusage(resource.RUSAGE_CHILDREN).ru_nvcsw - before
    result = {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
              "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    result["client_sleeps"] = sleeps / max(result["requests"], 1)
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = parse_duration_ms(match.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["errors"] = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return result


def start_server(binary, data_dir, port):
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "info")
    env.pop("COOKIE_LAB_KEYS", None)
    log = open(os.path.join(data_dir, "server.log"), "w")
    process = subprocess.Popen(
        # --login-rate 0: the login scenario creates thousands of sessions a
        # second from one address on purpose; the limit would answer 429.
        ["taskset", "-c", SERVER_CPU, binary, "--addr", f"{HOST}:{port}", "--data-dir", data_dir,
         "--login-rate", "0"],
        stdout=log, stderr=log, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("cookie-lab did not start; see " + log.name)


def log_in(base):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode({"email": "ada@example.com", "password": "code"}).encode()
    response = opener.open(urllib.request.Request(base + "/login", data=body), timeout=5)
    header = response.headers["Set-Cookie"]
    return re.match(r"lab_session=([^;]+)", header).group(1)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--smoke", action="store_true", help="1 s per scenario, no warm-up to speak of")
    parser.add_argument("--duration", type=int, default=5, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--memory-connections", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3,
                        help="measured runs per scenario, interleaved; the median is reported")
    parser.add_argument("--out", help="also write the report (Markdown) to this file")
    args = parser.parse_args()
    seconds = 1 if args.smoke else args.duration
    warmup = 1 if args.smoke else 2
    repeat = 1 if args.smoke else max(1, args.repeat)

    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://{HOST}:{port}"
        server = start_server(args.binary, data_dir, port)
        try:
            login_cookie = log_in(base)
            time.sleep(0.5)
            idle_rss = status_kib(server.pid, "VmRSS")
            plan = scenarios(login_cookie)
            scripts = {name: wrk_script(data_dir, name, method, headers, body)
                       for name, method, path, headers, body, _ in plan}
            for name, _, path, _, _, _ in plan:
                run_wrk(base + path, scripts[name], args.connections, warmup)
            runs = {name: [] for name, *_ in plan}
            # Interleaved rounds, so drift on a shared machine hits every
            # scenario alike; the median of the rounds is reported.
            for _ in range(repeat):
                for name, _, path, _, _, _ in plan:
                    reset_peak_rss(server.pid)
                    before, ticks_before = cpu_ns(server.pid), user_sys_ticks(server.pid)
                    result = run_wrk(base + path, scripts[name], args.connections, seconds)
                    used = cpu_ns(server.pid) - before
                    ticks_after = user_sys_ticks(server.pid)
                    user, system = (a - b for a, b in zip(ticks_after, ticks_before))
                    result.update(cpu_us=used / 1000 / max(result["requests"], 1),
                                  kernel_share=system / max(user + system, 1),
                                  peak_rss_kib=status_kib(server.pid, "VmHWM"))
                    runs[name].append(result)
            rows = []
            for name, *_, budget in plan:
                median = {key: statistics.median(r[key] for r in runs[name])
                          for key in ("rps", "p50_ms", "p99_ms", "cpu_us", "kernel_share", "client_sleeps")}
                median.update(name=name, budget=budget,
                              errors=sum(r["errors"] for r in runs[name]),
                              peak_rss_kib=max(r["peak_rss_kib"] for r in runs[name]),
                              spread=(max(r["cpu_us"] for r in runs[name]) - min(r["cpu_us"] for r in runs[name]))
                              / median["cpu_us"])
                rows.append(median)
                print(f"  {name}: {median['rps']:.0f} req/s, {median['cpu_us']:.1f} µs CPU/request", file=sys.stderr)

            # Memory under many connections: the heaviest request, 256 at once.
            heavy = next(r for r in scenarios(login_cookie) if r[0].startswith("GET /api/cookies"))
            script = wrk_script(data_dir, "memory", heavy[1], heavy[3], heavy[4])
            reset_peak_rss(server.pid)
            memory = run_wrk(base + heavy[2], script, args.memory_connections, seconds)
            peak_rss = status_kib(server.pid, "VmHWM")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=15)

    report = render(rows, idle_rss, peak_rss, memory, args, seconds, repeat)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def render(rows, idle_rss, peak_rss, memory, args, seconds, repeat):
    floor = rows[0]
    lines = [
        f"{len(rows)} scenarios, {seconds} s each at {args.connections} connections, median of {repeat} "
        f"interleaved run(s) (wrk -t1 on CPU {CLIENT_CPU}, cookie-lab on CPU {SERVER_CPU}).",
        "",
        "| scenario | req/s | p50 | p99 | p99 ÷ healthz | errors | peak RSS | CPU/request (spread) | in kernel "
        "| wrk sleeps/request | CPU ÷ healthz | budget |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for r in rows:
        cpu_ratio = r["cpu_us"] / floor["cpu_us"]
        p99_ratio = r["p99_ms"] / floor["p99_ms"]
        if r["budget"] is None:
            budget = "(the floor)"
        else:
            ok = cpu_ratio <= r["budget"] and p99_ratio <= 2.0 and r["errors"] == 0
            budget = f"{'✅' if ok else '❌'} ≤ {r['budget']:.2f}×, p99 ≤ 2×"
            verdicts.append(ok)
        lines.append(
            f"| {r['name']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {p99_ratio:.2f} | "
            f"{r['errors']} | {r['peak_rss_kib'] / 1024:.1f} MiB | {r['cpu_us']:.1f} µs (±{r['spread'] * 50:.0f}%) | "
            f"{r['kernel_share'] * 100:.0f}% | {r['client_sleeps']:.2f} | {cpu_ratio:.2f} | {budget} |")
    memory_ok = peak_rss <= 4 * idle_rss and memory["errors"] == 0
    verdicts.append(memory_ok)
    lines += [
        "",
        f"Memory: idle RSS {idle_rss / 1024:.1f} MiB; peak RSS {peak_rss / 1024:.1f} MiB under "
        f"{args.memory_connections} connections on {rows[-1]['name']} ({memory['rps']:,.0f} req/s, "
        f"{memory['errors']} errors) = {peak_rss / idle_rss:.2f}× idle "
        f"{'✅' if memory_ok else '❌'} (budget ≤ 4×).",
        "",
        f"Budgets met: {sum(verdicts)} of {len(verdicts)}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
