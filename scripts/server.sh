#!/usr/bin/env bash
# npm run server: the control plane in the foreground (builds first when needed).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
bash "$ROOT/scripts/services.sh"
(cd "$ROOT" && npx nx run-many -t build --output-style=static >&2)
server_env
ensure_database
export WEB_DIST="${WEB_DIST:-$ROOT/apps/web/dist}"
export AGENT_BUNDLE="${AGENT_BUNDLE:-$ROOT/apps/agent/dist/sysfleet-agent.cjs}"
exec node "$ROOT/apps/server/dist/main.js"
