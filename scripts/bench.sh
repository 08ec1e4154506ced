#!/usr/bin/env bash
# npm run bench: the scale and latency benchmarks of test/bench (issue #8).
#   npm run bench                    full size: 10,000 simulated agents on one server process
#   BENCH_SIZE=smoke npm run bench   a small fleet; checks correctness only, never time (CI)
# Prints a table and writes JSON to test/bench/results/. Exits non-zero only when a correctness
# check fails (a job lost or stored twice, an enrolment refused, an agent not back), never on time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
bash "$ROOT/scripts/services.sh"
(cd "$ROOT" && npx nx run-many -t build --output-style=static >&2)
log "bundling the bench (test/bench/dist)"
node "$ROOT/test/bench/build.mjs"

# Every simulated agent is a socket in a worker and in the server: raise the descriptor limit to the hard limit.
hard="$(ulimit -Hn)"
if [ "$hard" = unlimited ]; then ulimit -n 1048576; else ulimit -n "$hard"; fi
if [ "${BENCH_SIZE:-full}" = full ] && [ "$(ulimit -n)" -lt 12000 ]; then
  log "warning: open files limit is $(ulimit -n); 10,000 agents need about 11,000 in the server process (raise the hard limit, or set BENCH_AGENTS)"
fi

cd "$ROOT"
exec node --enable-source-maps test/bench/dist/run.cjs
