#!/usr/bin/env bash
# npm run migrate [-- --revert]: applies pending migrations (or reverts the last one), building the server first when needed.
# Needs only DATABASE_URL; the local default (see server_env) is used when it is unset.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
bash "$ROOT/scripts/services.sh"
(cd "$ROOT" && npx nx run @sysfleet/server:build --output-style=static >&2)
server_env
ensure_database
exec node "$ROOT/apps/server/dist/migrate.js" "$@"
