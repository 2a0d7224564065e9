// Every test file of this folder in one process: run.sh runs it once per
// engine, so that the files share that engine's browser (openEngine in
// browsers.js) instead of each starting its own (Firefox takes seconds to
// start). Each file still runs alone too: node --test chat.test.js.
// Static imports: every file's hooks and tests are registered before the
// first test runs.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import './auth.test.js';
import './bundle.test.js';
import './chat.test.js';
import './demo.test.js';
import './interop.test.js';
import './load-error.test.js';
import './persist.test.js';
import './react.test.js';

const imported = ['auth', 'bundle', 'chat', 'demo', 'interop', 'load-error', 'persist', 'react'].map((name) => `${name}.test.js`);
const here = path.dirname(fileURLToPath(import.meta.url));
const present = fs.readdirSync(here).filter((name) => name.endsWith('.test.js')).sort();
if (JSON.stringify(present) !== JSON.stringify(imported)) {
  throw new Error(`all-tests.js imports ${imported.join(', ')} but the folder has ${present.join(', ')}: ` +
    'list every test file');
}
