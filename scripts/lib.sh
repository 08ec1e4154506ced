# Shared helpers for the scripts in this folder. Sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SYSFLEET_HOME:-$ROOT/.sysfleet}"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "sysfleet: '$*' needs root (run as root or install sudo)" >&2; return 1; fi
}

apt_updated=""
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "sysfleet: please install $* with your package manager (this script knows apt-get only)" >&2; return 1
  fi
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >&2 && apt_updated=1; }
  log "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Installs workspace dependencies when node_modules is missing or older than the lock file.
ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    (cd "$ROOT" && npm ci --no-audit --no-fund >&2)
  fi
}

# Defaults for running the server locally; anything already set in the environment wins.
server_env() {
  mkdir -p "$STATE_DIR"
  [ -s "$STATE_DIR/secret" ] || (umask 077; node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex'))" >"$STATE_DIR/secret")
  export PORT="${PORT:-3000}"
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sysfleet}"
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
  if [ -z "${PUBLIC_URL:-}" ]; then
    export PUBLIC_URL="http://localhost:$PORT"
    # The same server opened as 127.0.0.1 is another origin to a browser: let its live channel in too.
    export ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-http://127.0.0.1:$PORT}"
  fi
  export SYSFLEET_SECRET="${SYSFLEET_SECRET:-$(cat "$STATE_DIR/secret")}"
}

# Creates the database named in DATABASE_URL when it does not exist.
ensure_database() {
  node "$ROOT/scripts/ensure-database.cjs" "$DATABASE_URL"
}
