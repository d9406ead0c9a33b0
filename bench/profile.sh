#!/usr/bin/env bash
# Instructions per request for one load scenario, counted by callgrind:
# repeatable whatever else the machine is doing, unlike CPU time.
#
#   bench/profile.sh healthz|root|getcookie|setcookie|login|profile|api20 [SECONDS]
#
# Starts the release binary under valgrind, warms it up with wrk, zeroes the
# counters, drives the scenario for SECONDS (default 4), and prints the
# instructions per request and the top inclusive costs. The raw profile is
# left in target/callgrind/ for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?usage: bench/profile.sh SCENARIO [SECONDS]}
seconds=${2:-4}
for tool in valgrind wrk curl; do
  command -v $tool >/dev/null || { echo "bench/profile.sh needs $tool (apt-get install valgrind wrk curl)" >&2; exit 2; }
done
cargo build --release --locked --bin cookie-lab >&2
out=target/callgrind
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill $vg 2>/dev/null || true; rm -rf "$data"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

lua=$data/scenario.lua
path=/
case $scenario in
  healthz) path=/healthz; : > "$lua" ;;
  root) path=/; : > "$lua" ;;
  getcookie) path=/getcookie; echo 'wrk.headers["Cookie"] = "userID=alice"' > "$lua" ;;
  setcookie) path=/code/set/cookie
    printf 'wrk.method = "POST"\nwrk.body = "userID=alice"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' > "$lua" ;;
  login) path=/login
    printf 'wrk.method = "POST"\nwrk.body = "email=ada%%40example.com&password=code"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' > "$lua" ;;
  profile) path=/profile ;;
  api20) path=/api/cookies
    printf 'local parts = {}\nfor i = 0, 19 do parts[#parts + 1] = string.format("c%%02d=%%s", i, string.rep("v", 196)) end\nwrk.headers["Cookie"] = table.concat(parts, "; ")\n' > "$lua" ;;
  *) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

valgrind --tool=callgrind --callgrind-out-file="$out/$scenario.%p" \
  # --login-rate 0: the login scenario creates sessions as fast as it can.
  target/release/cookie-lab --addr 127.0.0.1:$port --data-dir "$data" --login-rate 0 \
    2>"$out/$scenario.log" &
vg=$!
for _ in $(seq 200); do curl -sf -o /dev/null $base/healthz && break; sleep 0.1; done
if [ "$scenario" = profile ]; then
  cookie=$(curl -s -i -d 'email=ada@example.com&password=code' $base/login | tr -d '\r' | sed -n 's/^set-cookie: lab_session=\([^;]*\);.*/\1/p')
  echo "wrk.headers[\"Cookie\"] = \"lab_session=$cookie\"" > "$lua"
fi
wrk -t1 -c4 -d2s -s "$lua" $base$path >/dev/null          # warm-up, not counted
callgrind_control -z $vg >/dev/null
result=$(wrk -t1 -c4 -d${seconds}s -s "$lua" $base$path)
callgrind_control -d $vg >/dev/null
requests=$(echo "$result" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
file=$(ls -t "$out/$scenario".* | grep -v '\.log$' | head -1)
total=$(callgrind_annotate "$file" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$scenario: $requests requests, $((total / requests)) instructions per request ($file)"
callgrind_annotate --inclusive=yes "$file" 2>/dev/null \
  | grep -E 'cookie_lab::|Handler<|serde_urlencoded|h1::role::Server|askama' \
  | head -15 \
  | sed -E 's/^ *([0-9,]+) \([ 0-9.]+%\) +(\?\?\?:)?([^[]*).*$/\1 \3/' \
  | awk -v r="$requests" '{n = $1; gsub(",", "", n); $1 = ""; printf "%8d instr/request %s\n", n / r, $0}'
