// Which client group the last instance of an app opened in its store, per
// schemaVersion: a hint kept in localStorage, so that the next cold start
// reads that group's heads in the same store transaction as the registry,
// while the WebAssembly module is still loading (persist.js, prefetch),
// instead of one store round trip later, once the core has chosen.
//
// Only a hint. The core still chooses the group from the registry
// (core/store_format.h); when it chooses another (mutators renamed, the
// group collected or dropped, localStorage cleared or written by another
// version), the chosen group's heads are read then, as without a hint. A
// wrong hint costs two reads of absent or unused keys, never a wrong state.
// Where there is no localStorage (workers, Node, storage blocked) there is
// no hint.
import {journalKeys, journalStorage} from './journal.js';

const PREFIX = 'replicore-open/';
// Group ids are 20 characters (replicore.js randomID); a longer value was
// not written by us.
const MAX_GROUP_ID = 64;

const hintKey = (storeName, schemaVersion) => `${PREFIX}${storeName}/${schemaVersion}`;

/** The group the last instance with `schemaVersion` opened in `storeName`, or ''. */
export function readOpenHint(storeName, schemaVersion) {
  const storage = journalStorage();
  if (!storage) return '';
  try {
    const g = storage.getItem(hintKey(storeName, schemaVersion));
    return typeof g === 'string' && g.length <= MAX_GROUP_ID ? g : '';
  } catch {
    return '';
  }
}

/** Notes that an instance with `schemaVersion` opened `groupID` in `storeName`. */
export function writeOpenHint(storeName, schemaVersion, groupID) {
  const storage = journalStorage();
  if (!storage) return;
  try {
    const key = hintKey(storeName, schemaVersion);
    // Written only when it changes: usually a read and nothing more.
    if (storage.getItem(key) !== groupID) storage.setItem(key, groupID);
  } catch {
    // Full or refused: the next start reads the heads a round trip later.
  }
}

/** Removes the hints of store `storeName` (the store is being dropped). */
export function removeOpenHints(storeName) {
  const storage = journalStorage();
  if (!storage) return;
  try {
    for (const key of journalKeys(storage, `${PREFIX}${storeName}/`)) storage.removeItem(key);
  } catch {
    // Nothing to clean where storage refuses access.
  }
}
