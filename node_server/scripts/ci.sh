#!/usr/bin/env bash
# CI for node_server: make sure PostgreSQL 15 is there, install exact deps, run the tests.
# Usage: node_server/scripts/ci.sh   (from anywhere; needs Node 20, python3/make/g++ for
# better-sqlite3's native build; apt-get as root if PostgreSQL is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
node --version
npm ci --no-audit --no-fund
npm test
