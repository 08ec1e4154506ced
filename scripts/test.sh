#!/usr/bin/env bash
# npm test: sets up what the tests need, builds, runs every tier and prints one line
# "tests: N passed, N failed" summed over all tiers (static checks count as one test each).
# Tiers to run can be narrowed: TEST_TIERS="unit integration" npm test
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
RESULTS="$ROOT/test/results"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"
summary() { node "$ROOT/scripts/test-summary.cjs" "$RESULTS"; }
setup_failed() { echo "{\"name\":\"setup\",\"passed\":0,\"failed\":1,\"detail\":\"$1\"}" >"$RESULTS/setup.check.json"; summary; exit 1; }

ensure_node_modules || setup_failed "npm ci failed"
bash scripts/services.sh || setup_failed "PostgreSQL/Redis could not be started"
# Guest sshd, browser and libvirt's clients for the e2e and browser tiers.
missing=()
command -v /usr/sbin/sshd >/dev/null || missing+=(openssh-server)
# sudo: the guest user that is not root elevates with it (test/support/sshd.ts createSudoGuestUser).
command -v sudo >/dev/null || missing+=(sudo)
command -v chromium >/dev/null || missing+=(chromium)
command -v virsh >/dev/null || missing+=(libvirt-clients)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}" || setup_failed "could not install ${missing[*]}"

log "building"
npx nx run-many -t build --output-style=static || setup_failed "build failed"

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=4096"
TIERS="${TEST_TIERS:-static unit web integration e2e browser}"

check() { # name, command...
  local name="$1"; shift
  log "check: $name"
  if "$@"; then echo "{\"name\":\"$name\",\"passed\":1,\"failed\":0}" >"$RESULTS/$name.check.json"
  else echo "{\"name\":\"$name\",\"passed\":0,\"failed\":1}" >"$RESULTS/$name.check.json"; fi
}
tier() { # name, jest config, extra args
  local name="$1" cfg="$2"; shift 2
  log "tier: $name"
  npx jest -c "$cfg" --ci --passWithNoTests --json --outputFile="$RESULTS/$name.jest.json" "$@"
  [ -s "$RESULTS/$name.jest.json" ] || echo "{\"name\":\"$name\",\"passed\":0,\"failed\":1,\"detail\":\"jest crashed\"}" >"$RESULTS/$name.check.json"
}

for t in $TIERS; do
  case "$t" in
    static) check typecheck bash -c 'npx nx run-many -t typecheck --output-style=static && npx tsc -p test/tsconfig.json'
            check lint npx nx run-many -t lint --output-style=static ;;
    unit) tier unit test/jest.unit.config.js -w 2 ;;
    web) tier web test/jest.web.config.js -w 2 ;;
    integration) tier integration test/jest.integration.config.js --runInBand ;;
    e2e) tier e2e test/jest.e2e.config.js --runInBand ;;
    browser) tier browser test/jest.browser.config.js --runInBand ;;
    *) echo "unknown tier $t" >&2 ;;
  esac
done
summary
