#!/bin/sh
# Installs the Sysfleet agent on Linux (systemd) or OpenBSD (rc.d) and starts it.
# The server serves the agent bundle, not this script: copy apps/agent/packaging/install.sh to the host, then
#   sudo sh install.sh --server https://fleet.example.org --token TOKEN [--node /path/to/node]
#
# SERVER and TOKEN may also come from the environment. The bundle is fetched from
# $SERVER/agent/sysfleet-agent.cjs and checked against $SERVER/agent/sysfleet-agent.cjs.sha256
# before anything is installed. Re-running it upgrades the agent and keeps its key.
# DESTDIR=/some/root installs below that root and does not enable or start the service (packaging, tests).
set -eu

SERVER="${SERVER:-}"
TOKEN="${TOKEN:-}"
NODE="${NODE:-}"
DESTDIR="${DESTDIR:-}"
LIB_DIR=/usr/local/lib/sysfleet
BUNDLE="$LIB_DIR/sysfleet-agent.cjs"

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER="$2"; shift 2 ;;
    --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN="$2"; shift 2 ;;
    --node) [ $# -ge 2 ] || die "--node needs a value"; NODE="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" 2>/dev/null || true; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

[ -n "$SERVER" ] || die "no server given (--server URL)"
SERVER="${SERVER%/}"
# Both end up in agent.json: only characters that need no JSON escaping are accepted.
echo "$SERVER" | grep -Eq '^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:[0-9]+)?$' || die "server must be http(s)://host[:port], got: $SERVER"
[ -z "$TOKEN" ] || echo "$TOKEN" | grep -Eq '^[A-Za-z0-9._~+/=-]{16,256}$' || die "token has unexpected characters or length"
[ -n "$DESTDIR" ] || [ "$(id -u)" = 0 ] || die "run as root"

OS="$(uname -s)"
case "$OS" in
  Linux) STATE_DIR=/var/lib/sysfleet-agent ;;
  OpenBSD) STATE_DIR=/var/db/sysfleet-agent ;;
  *) die "unsupported system $OS (Linux with systemd, or OpenBSD)" ;;
esac

[ -n "$NODE" ] || NODE="$(command -v node || true)"
[ -n "$NODE" ] && [ -x "$NODE" ] || die "Node.js >= 18 is needed (apt-get install nodejs / pkg_add node)"
NODE_MAJOR="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 18 ] || die "Node.js >= 18 is needed, found $("$NODE" --version)"

fetch() { # url file
  if command -v curl >/dev/null 2>&1; then curl -fsSL -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  elif [ "$OS" = OpenBSD ]; then ftp -V -o "$2" "$1"
  else die "need curl or wget to download"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v sha256 >/dev/null 2>&1; then sha256 -q "$1"
  else "$NODE" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"
  fi
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT INT TERM
say "downloading $SERVER/agent/sysfleet-agent.cjs"
fetch "$SERVER/agent/sysfleet-agent.cjs" "$TMP/sysfleet-agent.cjs" || die "download failed"
fetch "$SERVER/agent/sysfleet-agent.cjs.sha256" "$TMP/sha256" || die "checksum download failed"
WANT="$(cut -d' ' -f1 < "$TMP/sha256")"
GOT="$(sha256_of "$TMP/sysfleet-agent.cjs")"
echo "$WANT" | grep -Eq '^[0-9a-f]{64}$' || die "the server's checksum file is malformed"
[ "$WANT" = "$GOT" ] || die "checksum mismatch: expected $WANT, got $GOT; nothing was installed"

umask 077
LIB_DIR="$DESTDIR$LIB_DIR"
BUNDLE="$DESTDIR$BUNDLE"
STATE_DIR="$DESTDIR$STATE_DIR"
mkdir -p "$LIB_DIR"
chmod 0755 "$LIB_DIR"
cp "$TMP/sysfleet-agent.cjs" "$LIB_DIR/.sysfleet-agent.cjs.new"
chmod 0755 "$LIB_DIR/.sysfleet-agent.cjs.new"
mv -f "$LIB_DIR/.sysfleet-agent.cjs.new" "$BUNDLE"

mkdir -p "$STATE_DIR"
chmod 0700 "$STATE_DIR"
if [ -n "$TOKEN" ]; then
  printf '{\n  "server": "%s",\n  "enrollmentToken": "%s"\n}\n' "$SERVER" "$TOKEN" > "$STATE_DIR/agent.json.new"
else
  printf '{\n  "server": "%s"\n}\n' "$SERVER" > "$STATE_DIR/agent.json.new"
fi
mv -f "$STATE_DIR/agent.json.new" "$STATE_DIR/agent.json"
# The key is made now, before the service starts, so the fingerprint below is the one it will use.
FP="$("$NODE" "$BUNDLE" fingerprint --state-dir "$STATE_DIR")"
# The service runs `node` from the standard places.
[ -n "$DESTDIR" ] || [ -e /usr/local/bin/node ] || [ -e /usr/bin/node ] || ln -s "$NODE" /usr/local/bin/node

if [ "$OS" = Linux ]; then
  [ -n "$DESTDIR" ] || command -v systemctl >/dev/null 2>&1 || die "systemd is needed on Linux"
  mkdir -p "$DESTDIR/etc/systemd/system"
  cat > "$DESTDIR/etc/systemd/system/sysfleet-agent.service" <<'UNIT'
[Unit]
Description=Sysfleet host agent
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
# Settings (server, enrollmentToken) come from /var/lib/sysfleet-agent/agent.json.
ExecStart=/usr/bin/env node /usr/local/lib/sysfleet/sysfleet-agent.cjs run --state-dir /var/lib/sysfleet-agent
Restart=always
RestartSec=5
StateDirectory=sysfleet-agent
StateDirectoryMode=0700
UMask=0077
# Hardening that leaves the agent able to do its job: it runs as root because it installs and
# enables hypervisor packages and shares disk images with libvirtd, so ProtectSystem, PrivateTmp
# and RestrictSUIDSGID (packages ship setuid helpers) are deliberately not set.
NoNewPrivileges=yes
ProtectClock=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
KeyringMode=private

[Install]
WantedBy=multi-user.target
UNIT
  chmod 0644 "$DESTDIR/etc/systemd/system/sysfleet-agent.service"
  if [ -n "$DESTDIR" ]; then
    say "DESTDIR set: service installed but not enabled"
  else
    systemctl daemon-reload
    systemctl enable sysfleet-agent >/dev/null
    systemctl restart sysfleet-agent
  fi
else
  mkdir -p "$DESTDIR/etc/rc.d"
  cat > "$DESTDIR/etc/rc.d/sysfleet_agent" <<'RCD'
#!/bin/ksh
#
# OpenBSD rc.d script for the Sysfleet host agent.
# Install as /etc/rc.d/sysfleet_agent, then: rcctl enable sysfleet_agent; rcctl start sysfleet_agent
# Settings (server, enrollmentToken) come from /var/db/sysfleet-agent/agent.json.

daemon="/usr/local/bin/node"
daemon_flags="/usr/local/lib/sysfleet/sysfleet-agent.cjs run --state-dir /var/db/sysfleet-agent"
daemon_logger="daemon.info"

. /etc/rc.d/rc.subr

rc_bg=YES
rc_reload=NO

rc_cmd $1
RCD
  chmod 0555 "$DESTDIR/etc/rc.d/sysfleet_agent"
  if [ -n "$DESTDIR" ]; then
    say "DESTDIR set: service installed but not enabled"
  else
    rcctl enable sysfleet_agent
    rcctl restart sysfleet_agent >/dev/null
  fi
fi

say "sysfleet-agent installed${DESTDIR:+ under $DESTDIR}."
say "key fingerprint: $FP"
say "compare it with the pending host in the web UI before approving."
