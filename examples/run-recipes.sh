#!/usr/bin/env bash
# Runs every consumer recipe of examples/ against a live stream and checks
# what each prints against what the runner computed from the simulator's
# data (examples/runner). .ci/run calls it once the node packages are in
# examples/node_modules and python3-confluent-kafka is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
runner_pid=""
cleanup() {
  if [ -n "$runner_pid" ]; then kill "$runner_pid" 2>/dev/null || true; wait "$runner_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/skill6pub" ./cmd/skill6pub
go build -o "$work/runner" ./examples/runner
"$work/runner" -skill6pub "$work/skill6pub" -out "$work" &
runner_pid=$!
# The runner writes env once the stream is published, the table written
# and the expected outputs computed (about 15 s).
for _ in $(seq 1 240); do
  [ -f "$work/env" ] && break
  kill -0 "$runner_pid" 2>/dev/null || { echo "run-recipes: the runner stopped" >&2; exit 1; }
  sleep 0.5
done
[ -f "$work/env" ] || { echo "run-recipes: the runner was not ready within 2 minutes" >&2; exit 1; }
set -a; . "$work/env"; set +a

check() { # name, then the command that prints the recipe's output
  local name="$1"; shift
  local started=$SECONDS
  "$@" >"$work/$name.out"
  if diff -u "$work/$name.expected" "$work/$name.out"; then
    echo "ok   $name ($((SECONDS - started)) s)"
  else
    echo "FAIL $name: its output differs from the expected one (above)" >&2
    exit 1
  fi
}
# Debian's python3-confluent-kafka is for Debian's python3.
check python /usr/bin/python3 examples/python/consumer.py
check node-table node examples/node/table.mjs
LAKE_DIR="$work/lake" check duckdb node examples/duckdb/lake.mjs
