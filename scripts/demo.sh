#!/usr/bin/env bash
# npm run demo: everything a first look needs, on one machine. Installs dependencies, makes sure
# PostgreSQL and Redis run, builds, starts the server (API + web UI) on http://localhost:3000 and one
# local agent on a simulated KVM host (so VMs can be created without real virtualization), then
# prints the URL and the admin login. Ctrl-C stops the server and the agent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_node_modules
bash scripts/services.sh
log "building"
npx nx run-many -t build --output-style=static >&2
server_env
ensure_database
export WEB_DIST="${WEB_DIST:-$ROOT/apps/web/dist}"
export AGENT_BUNDLE="${AGENT_BUNDLE:-$ROOT/apps/agent/dist/sysfleet-agent.cjs}"
[ -s "$STATE_DIR/admin-password" ] || (umask 077; node -e "process.stdout.write(require('crypto').randomBytes(12).toString('base64url'))" >"$STATE_DIR/admin-password")
export SYSFLEET_ADMIN_PASSWORD="${SYSFLEET_ADMIN_PASSWORD:-$(cat "$STATE_DIR/admin-password")}"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

log "starting the server (log: $STATE_DIR/server.log)"
node apps/server/dist/main.js >"$STATE_DIR/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  node -e "fetch('http://127.0.0.1:$PORT/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -n 30 "$STATE_DIR/server.log" >&2; echo "sysfleet: the server stopped; see $STATE_DIR/server.log" >&2; exit 1; }
  sleep 0.5
done

# The local agent enrols with a single-use auto-approving token, the way an operator would enrol a host.
AGENT_DIR="$STATE_DIR/agent-kvm"
if [ ! -s "$AGENT_DIR/state.json" ]; then
  token="$(node scripts/demo-token.cjs "http://127.0.0.1:$PORT" admin "$SYSFLEET_ADMIN_PASSWORD")"
  token_args=(--enrollment-token "$token")
else
  token_args=()
fi
log "starting a local agent on a simulated KVM host (log: $STATE_DIR/agent.log)"
node apps/agent/dist/sysfleet-agent.cjs run --server "http://127.0.0.1:$PORT" --state-dir "$AGENT_DIR" --simulate kvm "${token_args[@]}" >"$STATE_DIR/agent.log" 2>&1 &
pids+=($!)

cat <<MSG

  Sysfleet is running.

    Web UI and API:  $PUBLIC_URL   (OpenAPI: $PUBLIC_URL/api/docs)
    Log in as:       admin / $SYSFLEET_ADMIN_PASSWORD
    Local agent:     simulated KVM host, state in $AGENT_DIR

  Press Ctrl-C to stop.

MSG
wait "${pids[0]}"
