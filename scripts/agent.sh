#!/usr/bin/env bash
# npm run agent -- <args>: runs the agent bundle, building @sysfleet/agent first when the bundle is
# missing or older than anything it is built from.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUNDLE="$ROOT/apps/agent/dist/sysfleet-agent.cjs"
ensure_node_modules
stale() {
  [ ! -f "$BUNDLE" ] && return 0
  [ -n "$(find "$ROOT/apps/agent/src" "$ROOT/libs/protocol/src" "$ROOT/apps/agent/build.mjs" "$ROOT/apps/agent/package.json" \
    "$ROOT/tsconfig.base.json" "$ROOT/package-lock.json" -newer "$BUNDLE" -print -quit)" ]
}
if stale; then
  log "building the agent"
  (cd "$ROOT" && npx nx run @sysfleet/agent:build --output-style=static >&2)
  touch "$BUNDLE" # nx may leave a cached, identical bundle as it was: mark it as checked
fi
exec node "$BUNDLE" "$@"
