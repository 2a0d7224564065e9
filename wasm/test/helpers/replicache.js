// Loads the real Replicache 15.3.0, for tests that run one scenario against
// both libraries and compare. It comes from wasm/node_modules when installed
// there, else from the server's dev dependencies (node_server/node_modules).
import {existsSync} from 'node:fs';
import {dirname, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const candidates = [
  resolve(here, '..', '..', 'node_modules', 'replicache', 'out', 'replicache.js'),
  resolve(here, '..', '..', '..', 'node_server', 'node_modules', 'replicache', 'out', 'replicache.js'),
];

export async function loadReplicache() {
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`Replicache 15.3.0 is not installed (looked in ${candidates.join(', ')}): run npm ci in node_server/`);
  }
  return import(pathToFileURL(found).href);
}
