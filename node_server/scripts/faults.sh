#!/usr/bin/env bash
# The server's fault suite (issue 15, "keep it held"): clients that retry like Replicache push
# through faults, and each fault ends with every mutation applied exactly once and every client's
# view equal to the space's.
#   test/faults/pg-faults.test.js   PostgreSQL restarted (-m fast, -m immediate) and backends
#                                   terminated inside transactions under load
#   test/faults/sqlite-kill.test.js the server killed with SIGKILL 5 times during pushes on SQLite,
#                                   restarted on the same DATA_DIR
#   test/faults/oversized-queue.test.js  offline queues over BODY_LIMIT (64 KiB) pushed in batches
#                                   within it; a body of exactly the limit, one byte more, and a
#                                   single mutation over it (413 naming the limit)
#   test/faults/slow-mutators.test.js  mutators awaiting past MUTATOR_TIMEOUT_MS fail their
#                                   mutation while other spaces go on (SQLite and PostgreSQL)
#   test/faults/sqlite-restore.test.js  the SQLite file restored from an online backup under
#                                   running replicore clients (needs build-wasm/package): the
#                                   clients are reset, push what was lost, each mutation applied
#                                   once, and each app told
# Usage: bash node_server/scripts/faults.sh   (from anywhere; about a minute on 2 cores;
# REPLICORE_TEST_STORAGES and DATABASE_URL as for npm test)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-postgres.sh
# Install the dependencies only when they are missing or do not match package.json: ci.sh (run
# just before this in test-all.sh) has installed them, and a second `npm ci` would rebuild
# better-sqlite3 for nothing (~1.5 min).
if ! npm ls --all >/dev/null 2>&1; then
  npm ci --no-audit --no-fund
fi
node --test --test-force-exit --test-concurrency=1 test/faults/*.test.js
