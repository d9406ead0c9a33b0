#!/usr/bin/env bash
# The load benchmark: each server on CPU 0, wrk on CPU 1, every scenario for
# a few seconds after a warm-up. See docs/PERFORMANCE.md.
#
#   bench/load.sh --against-floor          # release builds; cookie-lab ÷ bench/floor/, with budgets
#   bench/load.sh --smoke --against-floor  # debug builds, 1 s per scenario (CI: proves the script works)
#   bench/load.sh --duration 10 --out docs/perf-run.md login profile
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
exec python3 bench/load.py "$@"
