#!/usr/bin/env bash
# Instructions per request under callgrind (deterministic, unlike CPU time).
#
#   bench/profile.sh --against-floor          # the budget table: cookie-lab ÷ bench/floor/
#   bench/profile.sh login profile --top      # some scenarios, and where the instructions go
#   bench/profile.sh api-1\ cookie ...        # growth scenarios: see bench/servers.py
#
# Builds the release binaries (the floor into target/floor, with cookie-lab's
# release-profile settings); --smoke builds debug and runs 1 s per scenario.
# Dumps are left in target/callgrind/ for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for tool in valgrind wrk; do command -v $tool >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
exec python3 bench/profile.py "$@"
