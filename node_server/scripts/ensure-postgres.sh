#!/usr/bin/env bash
# Make sure the tests have a PostgreSQL 15: the one in $PG_BIN (they start it themselves), or the
# server DATABASE_URL names. Installs the Debian package with apt-get when neither is there.
# Used by ci.sh and faults.sh.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -z "${DATABASE_URL:-}" && ! -x "$PG_BIN/initdb" ]]; then
  echo "ensure-postgres.sh: PostgreSQL 15 not found in $PG_BIN; installing it with apt-get" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-postgres.sh: not root: install the 'postgresql' package (15) or set DATABASE_URL" >&2
    exit 1
  fi
  # Another apt run may hold the lock: wait for it (up to 10 minutes).
  if command -v fuser >/dev/null; then
    for _ in $(seq 1 120); do
      fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1 || break
      sleep 5
    done
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
