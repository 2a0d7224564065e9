// Deprecated exports of Replicache 15, kept so that code using them still
// links and runs.
import {dropAllDatabases} from './store/provider.js';

/** @deprecated Replicache no longer checks license keys; neither does replicore. */
export const TEST_LICENSE_KEY = 'This key only good for automated testing';

/** @deprecated Use dropAllDatabases: this is the same function under its old name. */
export function deleteAllReplicacheData(opts) {
  return dropAllDatabases(opts);
}
