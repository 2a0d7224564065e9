// The random id recorded with each space version. The cookie a pull hands out is
// {order: version, id}; a later pull's cookie is checked against the id recorded for its
// version, so a cookie from a timeline this database no longer has (restored from a backup,
// lost its last commits, failed over to a lagging replica) is recognised even once the space's
// version has grown past it again. Bare versions cannot tell those timelines apart.
import crypto from 'node:crypto';

// Versions whose ids are kept per space. A cookie older than that cannot be diffed from (its
// id is gone): it gets a full reset, as a first pull does, which is correct, only larger.
export const VERSION_HISTORY = 10_000;
// Pruning runs on every PRUNE_EVERY-th version (and after a jump), so it costs one DELETE per
// that many mutations.
export const PRUNE_EVERY = 1000;

/** 72 random bits: a restored database cannot come up with a recorded id by chance. */
export function newVersionID() {
  return crypto.randomBytes(9).toString('base64url');
}

/** The versions below which ids are dropped after `version` was recorded, or null for none. */
export function pruneBelow(version, jumped = false) {
  if (!jumped && version % PRUNE_EVERY !== 0) return null;
  const below = version - VERSION_HISTORY;
  return below > 0 ? below : null;
}
