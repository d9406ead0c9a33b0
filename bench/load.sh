#!/usr/bin/env bash
# The load benchmark: cookie-lab on CPU 0, wrk on CPU 1, every scenario for a
# few seconds after a warm-up; CPU per request, latency and memory as ratios
# to GET /healthz in the same run. See docs/PERFORMANCE.md.
#
#   bench/load.sh                 # release build, 5 s per scenario
#   bench/load.sh --smoke         # debug build, 1 s per scenario (CI: proves the script works)
#   bench/load.sh --duration 10 --out docs/perf-run.md
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

profile=release
for arg in "$@"; do
  [ "$arg" = "--smoke" ] && profile=debug
done
if [ "$profile" = release ]; then
  cargo build --release --locked --bin cookie-lab >&2
else
  cargo build --locked --bin cookie-lab >&2
fi
exec python3 bench/load.py --binary "target/$profile/cookie-lab" "$@"
