// Unload journals: what a page that unloads leaves in localStorage because
// its last IndexedDB write may never land (WebKit; see persist.js). One
// record per client, under a key that names the store and the client group,
// so that the group's next instance finds them and dropDatabase removes
// them with the store.

/** localStorage where a page has one, else null (workers, Node, sandboxes). */
export function journalStorage() {
  try {
    // A sandboxed page, or storage blocked by the user, throws on access.
    return typeof document === 'object' ? globalThis.localStorage ?? null : null;
  } catch {
    return null;
  }
}

/** The key prefix of the journals of `groupID` ('' for every group) in store `storeName`. */
export function journalPrefix(storeName, groupID = '') {
  return `replicore-journal/${storeName}/${groupID ? `${groupID}/` : ''}`;
}

/** The keys of `storage` under `prefix` (journals', or open-hint.js's). */
export function journalKeys(storage, prefix) {
  const keys = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (key?.startsWith(prefix)) keys.push(key);
  }
  return keys;
}

/** Removes every journal of store `storeName` (the store is being dropped). */
export function removeJournals(storeName) {
  const storage = journalStorage();
  if (!storage) return;
  try {
    for (const key of journalKeys(storage, journalPrefix(storeName))) storage.removeItem(key);
  } catch {
    // Nothing to clean where storage refuses access.
  }
}
