"""Drives cookie-lab (and, with --against-floor, the floor in bench/floor/)
with wrk and reports what each request costs the server.

Server CPU time per request is read from /proc (every thread's schedstat, in
nanoseconds) before and after each run and divided by the requests wrk
completed. Each server runs on CPU 0 (so tokio runs one worker), wrk on
CPU 1. With --against-floor both servers are driven in the same interleaved
rounds (scenario by scenario, server by server), so drift on a shared
machine hits both alike, and the table gives cookie-lab ÷ floor: CPU per
request, p99 latency at 64 connections (budget ≤ 1.5×), and peak RSS under
256 connections (budget ≤ 2.5×). "wrk sleeps/request" is how often the load
generator was idle and had to be woken by a response: on loopback that
wake-up is paid in the server's kernel time. Run through bench/load.sh.
"""

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import servers

SERVER_CPU, CLIENT_CPU = "0", "1"
P99_BUDGET, RSS_BUDGET = 1.5, 2.5


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in nanoseconds."""
    import os
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total


def user_sys_ticks(pid):
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


def measure(server, scenario, script, connections, seconds):
    reset_peak_rss(server.pid)
    before, ticks_before = cpu_ns(server.pid), user_sys_ticks(server.pid)
    result = run_wrk(server.base + scenario.path, script, connections, seconds)
    used = cpu_ns(server.pid) - before
    user, system = (a - b for a, b in zip(user_sys_ticks(server.pid), ticks_before))
    result.update(cpu_us=used / 1000 / max(result["requests"], 1),
                  kernel_share=system / max(user + system, 1),
                  peak_rss_kib=status_kib(server.pid, "VmHWM"))
    return result


def summarise(runs):
    keys = ("rps", "p50_ms", "p99_ms", "cpu_us", "kernel_share", "client_sleeps")
    summary = {key: statistics.median(r[key] for r in runs) for key in keys}
    summary["errors"] = sum(r["errors"] for r in runs)
    summary["spread"] = (max(r["cpu_us"] for r in runs) - min(r["cpu_us"] for r in runs)) / summary["cpu_us"]
    return summary


def main():
    parser = argparse.ArgumentParser(prog="bench/load.sh")
    parser.add_argument("scenarios", nargs="*", help="scenario keys (default: the budgeted six + api50)")
    parser.add_argument("--against-floor", action="store_true", help="also drive bench/floor/ and compare")
    parser.add_argument("--smoke", action="store_true", help="debug builds, 1 s per scenario, one round")
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
    plan = servers.by_key(args.scenarios)
    binaries = servers.build(release=not args.smoke, floor=args.against_floor)

    with tempfile.TemporaryDirectory() as data_dir:
        kinds = ["cookie-lab"] + (["floor"] if args.against_floor else [])
        running = {}
        try:
            for kind in kinds:
                running[kind] = servers.Server(kind, binaries[kind], data_dir, ["taskset", "-c", SERVER_CPU])
            time.sleep(0.5)
            idle = {kind: status_kib(s.pid, "VmRSS") for kind, s in running.items()}
            scripts = {(kind, sc.key): servers.wrk_script(data_dir, sc.key, sc, server)
                       for kind, server in running.items() for sc in plan}
            for sc in plan:
                for kind, server in running.items():
                    run_wrk(server.base + sc.path, scripts[kind, sc.key], args.connections, warmup)
            runs = {(kind, sc.key): [] for kind in running for sc in plan}
            for _ in range(repeat):
                for sc in plan:
                    for kind, server in running.items():
                        if kind == "floor" and not sc.floor:
                            continue
                        runs[kind, sc.key].append(
                            measure(server, sc, scripts[kind, sc.key], args.connections, seconds))
                        print(f"  {kind} {sc.name}: {runs[kind, sc.key][-1]['cpu_us']:.1f} µs CPU/request",
                              file=sys.stderr)
            # Memory under many connections: the heaviest budgeted request.
            heavy = next(sc for sc in servers.SCENARIOS if sc.key == "api20")
            memory = {}
            for kind, server in running.items():
                script = servers.wrk_script(data_dir, "memory", heavy, server)
                reset_peak_rss(server.pid)
                result = run_wrk(server.base + heavy.path, script, args.memory_connections, seconds)
                memory[kind] = (status_kib(server.pid, "VmHWM"), result)
        finally:
            for server in running.values():
                server.stop()

    report = render(plan, runs, idle, memory, args, seconds, repeat)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def render(plan, runs, idle, memory, args, seconds, repeat):
    against = "floor" in idle
    lines = [
        f"{len(plan)} scenarios, {seconds} s each at {args.connections} connections, median of {repeat} "
        f"interleaved run(s) (wrk -t1 on CPU {CLIENT_CPU}, each server on CPU {SERVER_CPU}).",
        "",
    ]
    verdicts = []
    if against:
        lines += [
            "| scenario | cookie-lab req/s | CPU/request: cookie-lab (spread) | floor | ratio | p99: cookie-lab "
            "| floor | ratio | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    else:
        lines += [
            "| scenario | req/s | p50 | p99 | errors | CPU/request (spread) | in kernel | wrk sleeps/request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for sc in plan:
        ours = summarise(runs["cookie-lab", sc.key])
        if against and runs.get(("floor", sc.key)):
            floor = summarise(runs["floor", sc.key])
            p99_ratio = ours["p99_ms"] / floor["p99_ms"]
            ok = p99_ratio <= P99_BUDGET and ours["errors"] == 0
            verdicts.append(ok)
            lines.append(
                f"| {sc.name} | {ours['rps']:,.0f} | {ours['cpu_us']:.1f} µs (±{ours['spread'] * 50:.0f}%) | "
                f"{floor['cpu_us']:.1f} µs | {ours['cpu_us'] / floor['cpu_us']:.2f} | {ours['p99_ms']:.2f} ms | "
                f"{floor['p99_ms']:.2f} ms | {'✅' if ok else '❌'} {p99_ratio:.2f} | {ours['errors']} |")
        else:
            lines.append(
                f"| {sc.name} | {ours['rps']:,.0f} | {ours['p50_ms']:.2f} ms | {ours['p99_ms']:.2f} ms | "
                f"{ours['errors']} | {ours['cpu_us']:.1f} µs (±{ours['spread'] * 50:.0f}%) | "
                f"{ours['kernel_share'] * 100:.0f}% | {ours['client_sleeps']:.2f} |")
    lines.append("")
    for kind, (peak, result) in memory.items():
        lines.append(f"Memory, {kind}: idle RSS {idle[kind] / 1024:.1f} MiB; peak RSS {peak / 1024:.1f} MiB under "
                     f"{args.memory_connections} connections on GET /api/cookies (20 × 200 B) "
                     f"({result['rps']:,.0f} req/s, {result['errors']} errors).")
    if against:
        ratio = memory["cookie-lab"][0] / memory["floor"][0]
        ok = ratio <= RSS_BUDGET and memory["cookie-lab"][1]["errors"] == 0
        verdicts.append(ok)
        lines += ["", f"Peak RSS cookie-lab ÷ floor: {ratio:.2f} {'✅' if ok else '❌'} (budget ≤ {RSS_BUDGET}×); "
                  f"p99 budget ≤ {P99_BUDGET}×. Budgets met: {sum(verdicts)} of {len(verdicts)}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
