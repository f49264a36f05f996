#!/usr/bin/env bash
# Starts the services the tests need on this machine: PostgreSQL on 127.0.0.1:5432, trust auth for
# local connections (the tests connect as postgres@127.0.0.1 with no password and create a database
# per test file). Installs Debian's postgresql when it is missing. Idempotent: a no-op where a
# server already answers on that port, or where DATABASE_URL names the server the tests use.
# `npm test` runs it first; .ci/run too.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  echo "the tests use DATABASE_URL; nothing to start"
  exit 0
fi
port=5432
answers() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p "$port"
  else (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; fi
}
if answers; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "error: no PostgreSQL answers on 127.0.0.1:$port, and this script installs one only with Debian's apt-get." >&2
  echo "Start PostgreSQL there with trust auth for local connections, or set DATABASE_URL to a server the tests may create databases on." >&2
  exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo -E); fi

if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q postgresql
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
  "${as_root[@]}" pg_createcluster "$version" main --port "$port"
fi

conf=/etc/postgresql/$version/main
# Trust for loopback and the local socket only: this server exists for the tests on this machine.
"${as_root[@]}" tee "$conf/pg_hba.conf" >/dev/null <<'HBA'
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
HBA
# The suite runs several workers and CLI processes per test file beside each other; the
# "too many clients" handling is tested with a server of its own, not by starving this one.
"${as_root[@]}" tee "$conf/conf.d/podline-tests.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
max_connections = 300
CONF

"${as_root[@]}" pg_ctlcluster "$version" main restart

for _ in $(seq 1 60); do
  if answers; then
    echo "PostgreSQL $version answers on 127.0.0.1:$port"
    exit 0
  fi
  sleep 0.5
done
echo "PostgreSQL did not answer on 127.0.0.1:$port within 30 s; see /var/log/postgresql/postgresql-$version-main.log" >&2
exit 1
