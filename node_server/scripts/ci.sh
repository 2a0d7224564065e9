#!/usr/bin/env bash
# CI for node_server: make sure PostgreSQL 15 is there, install exact deps, run the tests.
# Usage: node_server/scripts/ci.sh   (from anywhere; needs Node 20, python3/make/g++ for
# better-sqlite3's native build; apt-get as root if PostgreSQL is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -z "${DATABASE_URL:-}" && ! -x "$PG_BIN/initdb" ]]; then
  echo "ci.sh: PostgreSQL 15 not found in $PG_BIN; installing it with apt-get" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "ci.sh: not root: install the 'postgresql' package (15) or set DATABASE_URL" >&2
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

node --version
npm ci --no-audit --no-fund
npm test
