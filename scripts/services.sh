#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) are running:
# starts them when stopped and installs them with apt-get when missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

pg_up() { node -e "const net=require('net');const s=net.connect(5432,'127.0.0.1',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1))"; }
redis_up() { node -e "const net=require('net');const s=net.connect(6379,'127.0.0.1',()=>{s.write('PING\r\n')});s.on('data',d=>process.exit(String(d).startsWith('+PONG')?0:1));s.on('error',()=>process.exit(1))"; }
wait_for() { for _ in $(seq 1 60); do "$1" && return 0; sleep 0.5; done; echo "sysfleet: $2 did not come up" >&2; return 1; }

if ! pg_up; then
  installed_now=""
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; installed_now=1; fi
  ver="$(ls /etc/postgresql | sort -V | tail -n1)"
  if [ -n "$installed_now" ]; then
    # A fresh Debian cluster asks for a password on 127.0.0.1; Sysfleet's local default is trust on loopback only.
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_for pg_up PostgreSQL
fi

if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/sysfleet.log
  wait_for redis_up Redis
fi
