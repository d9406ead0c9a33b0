"""Instructions per request, counted by callgrind: repeatable whatever else
the machine is doing, unlike CPU time. Run through bench/profile.sh.

Each server runs once under valgrind; for each scenario the counters are
zeroed, wrk -t1 -c4 drives it (after a warm-up), and the counts are dumped:
instructions per request is the dump's total (user space, every thread)
divided by the requests wrk completed, and allocations per request the
calls to the C allocator in the same dump, divided the same way. With --against-floor the floor
(bench/floor/) is driven through the same scenarios and the table gives
cookie-lab ÷ floor against the budgets.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

import servers


def wrk(url, script, seconds):
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, int(bad.group(1)) if bad else 0


def total_instructions(dump):
    out = subprocess.run(["callgrind_annotate", dump], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^\s*([\d,]+) .*PROGRAM TOTALS", out, re.M).group(1).replace(",", ""))


# The C allocator's entry points: Rust's `System` allocator calls these (and
# valgrind's replacements keep the names), so their calls are the heap
# allocations of both servers alike, whatever each uses inside.
ALLOCATORS = {"malloc", "calloc", "realloc", "posix_memalign", "memalign", "aligned_alloc"}


def total_allocations(dump):
    """Calls to the allocator in a dump: each `calls=` line counts the calls
    to the function named by the `cfn=` before it (names are given once,
    then referred to by their number)."""
    names, callee, total = {}, None, 0
    with open(dump) as f:
        for line in f:
            match = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if match:
                kind, ident, name = match.groups()
                if name is not None:
                    names[ident] = name
                if kind == "cfn":
                    callee = names.get(ident)
            elif line.startswith("calls=") and callee in ALLOCATORS:
                total += int(line[len("calls="):].split()[0])
    return total


def top_functions(dump, requests, count=12):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", dump],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        match = re.match(r"^\s*([\d,]+) \([ \d.]+%\)\s+(?:\?\?\?:)?(.*?)(?: \[.*)?$", line)
        if match and re.search(r"cookie_lab::|Handler<|serde_urlencoded|h1::role::Server|askama|tracing", line):
            rows.append(f"{int(match.group(1).replace(',', '')) // requests:>9} {match.group(2)[:150]}")
        if len(rows) == count:
            break
    return rows


def profile(server_kind, binary, plan, args, data_dir, out_dir):
    """{scenario key: (instructions per request, dump file)} for one server."""
    prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/{server_kind}.%p"]
    server = servers.Server(server_kind, binary, data_dir, prefix)
    results = {}
    try:
        for scenario in plan:
            if server_kind == "floor" and not scenario.floor:
                continue
            script = servers.wrk_script(data_dir, scenario.key, scenario, server)
            url = server.base + scenario.path
            wrk(url, script, args.warmup)
            subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
            requests, bad = wrk(url, script, args.seconds)
            before = set(glob.glob(f"{out_dir}/{server_kind}.{server.pid}*"))
            subprocess.run(["callgrind_control", "-d", scenario.key, str(server.pid)], check=True,
                           capture_output=True)
            dump = max(set(glob.glob(f"{out_dir}/{server_kind}.{server.pid}*")) - before or before,
                       key=os.path.getmtime)
            per_request = total_instructions(dump) / max(requests, 1)
            allocations = total_allocations(dump) / max(requests, 1)
            results[scenario.key] = (per_request, dump, requests, bad, allocations)
            print(f"  {server_kind} {scenario.name}: {per_request / 1000:.1f}k instructions/request, "
                  f"{allocations:.1f} allocations ({requests} requests, {bad} not 2xx/3xx)", file=sys.stderr)
    finally:
        server.stop()
    return results


def main():
    parser = argparse.ArgumentParser(prog="bench/profile.sh")
    parser.add_argument("scenarios", nargs="*", help="scenario keys (default: the budgeted six + api50)")
    parser.add_argument("--against-floor", action="store_true", help="also profile bench/floor/ and compare")
    parser.add_argument("--smoke", action="store_true", help="debug builds, 1 s per scenario")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--top", action="store_true", help="also list where cookie-lab's instructions go")
    parser.add_argument("--out", help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    args.warmup = 1 if args.smoke else 2
    if args.smoke:
        args.seconds = 1
    plan = servers.by_key(args.scenarios)
    binaries = servers.build(release=not args.smoke, floor=args.against_floor)
    out_dir = servers.ROOT / "target" / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        ours = profile("cookie-lab", binaries["cookie-lab"], plan, args, data_dir, out_dir)
        floor = profile("floor", binaries["floor"], plan, args, data_dir, out_dir) if args.against_floor else {}

    lines = ["| scenario | floor | cookie-lab | ratio | budget | allocations: floor | cookie-lab | budget |",
             "|---|---:|---:|---:|---|---:|---:|---|"]
    met = []
    for scenario in plan:
        mine, _, _, _, mine_allocations = ours[scenario.key]
        if scenario.key in floor:
            base, _, _, _, base_allocations = floor[scenario.key]
            ratio = mine / base
            ok = ratio <= scenario.budget if scenario.budget else None
            if ok is not None:
                met.append(ok)
            verdict = f"{'✅' if ok else '❌'} ≤ {scenario.budget:.2f}×" if ok is not None else ""
            # Whole allocations: the floor's count is a fraction when hyper
            # sometimes reuses its read buffer.
            allocation_verdict = ""
            if scenario.no_added_allocations:
                fits = round(mine_allocations) <= round(base_allocations)
                met.append(fits)
                allocation_verdict = f"{'✅' if fits else '❌'} ≤ floor"
            lines.append(f"| {scenario.name} | {base / 1000:.1f}k | {mine / 1000:.1f}k | {ratio:.2f} | {verdict} "
                         f"| {base_allocations:.1f} | {mine_allocations:.1f} | {allocation_verdict} |")
        else:
            lines.append(f"| {scenario.name} | | {mine / 1000:.1f}k | | | | {mine_allocations:.1f} | |")
    if met:
        lines += ["", f"Budgets met: {sum(met)} of {len(met)} (instructions and allocator calls per request, "
                      "callgrind, wrk -t1 -c4)."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.top:
        for scenario in plan:
            per_request, dump, requests, _, _ = ours[scenario.key]
            print(f"## {scenario.name}: where cookie-lab's {per_request / 1000:.1f}k go (inclusive)")
            print("\n".join(top_functions(dump, requests)))
            print()
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
