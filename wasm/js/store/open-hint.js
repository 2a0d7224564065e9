// Which client group the last instance of an app opened in its store, per
// schemaVersion: a hint kept in localStorage, so that the next cold start
// reads that group's heads in the same store transaction as the registry,
// while the WebAssembly module is still loading (persist.js, prefetch),
// instead of one store round trip later, once the core has chosen.
//
// With the group, the store keys of the first pages the last starts' first
// reads needed (page-loader.js): an app's first query usually reads what
// it read last time, and those pages are then read right after the heads,
// while the module loads, instead of a store round trip once the core has
// loaded the head. The core still decides which pages a read needs: a page
// of the hint it does not ask for is dropped unused, and one it asks for
// is the page it means (a page is immutable once written, under a number
// never used again; one gone meanwhile is read from the store as usual).
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
// Page keys are `g/<group>/p<number>` (core/store_format.h).
const MAX_PAGE_KEY = MAX_GROUP_ID + 24;
/**
 * How many pages a hint names, and how many of them one start adds (the
 * newest first). Two per start keep the pages of the last two or three
 * starts, so that an app whose starts alternate between views (a list, then
 * an item) finds both; four bound what a wrong hint costs: a store read of
 * that many records (a megabyte at WebKit's pages) while the module loads.
 */
export const HINT_PAGES = 4;
export const HINT_PAGES_PER_START = 2;

const hintKey = (storeName, schemaVersion) => `${PREFIX}${storeName}/${schemaVersion}`;

// The hint's text: the group, then a line per page key.
function parse(text) {
  if (typeof text !== 'string') return {group: '', pages: []};
  const [group, ...pages] = text.split('\n');
  if (group === '' || group.length > MAX_GROUP_ID) return {group: '', pages: []};
  const prefix = `g/${group}/p`;
  return {group, pages: pages.filter((k) => k.startsWith(prefix) && k.length <= MAX_PAGE_KEY).slice(0, HINT_PAGES)};
}

/**
 * The group the last instance with `schemaVersion` opened in `storeName`
 * (or '') and the keys of the pages the hint names (see above).
 */
export function readOpenHint(storeName, schemaVersion) {
  const storage = journalStorage();
  if (!storage) return {group: '', pages: []};
  try {
    return parse(storage.getItem(hintKey(storeName, schemaVersion)));
  } catch {
    return {group: '', pages: []};
  }
}

/**
 * Notes that an instance with `schemaVersion` opened `groupID` in
 * `storeName`, and, when `firstPages` is given, that its first reads needed
 * those pages: they join the front of the pages the hint names for that
 * group.
 */
export function writeOpenHint(storeName, schemaVersion, groupID, firstPages = null) {
  const storage = journalStorage();
  if (!storage) return;
  try {
    const key = hintKey(storeName, schemaVersion);
    const old = storage.getItem(key);
    const {group, pages} = parse(old);
    let kept = group === groupID ? pages : [];
    if (firstPages) kept = [...new Set([...firstPages.slice(0, HINT_PAGES_PER_START), ...kept])];
    const text = [groupID, ...parse([groupID, ...kept].join('\n')).pages].join('\n');
    // Written only when it changes: usually a read and nothing more.
    if (old !== text) storage.setItem(key, text);
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
