// Every test file of this folder in one process: run.sh runs it once per
// engine, so that the files share that engine's browser (openEngine in
// browsers.js) instead of each starting its own (Firefox takes seconds to
// start). Each file still runs alone too: node --test chat.test.js.
// Static imports: every file's hooks and tests are registered before the
// first test runs.
import fs from 'node:fs';
import path from 'node:path';
import {after} from 'node:test';
import {fileURLToPath} from 'node:url';
import './auth.test.js';
import './bundle.test.js';
import './chat.test.js';
import './conformance.test.js';
import './demo.test.js';
import './interop.test.js';
import './large-text.test.js';
import './load-error.test.js';
import './persist.test.js';
import './react.test.js';

// E2E_HANDLES=1: if the process is still alive 10 s after the last `after`
// hook of the files (something keeps its event loop alive: a browser, a
// socket, a server, a child process), prints what it still holds, every
// 10 s, to stderr. (A Firefox launched twice and closed once did so.)
if (process.env.E2E_HANDLES) {
  after(() => {
    const timer = setInterval(() => {
      const lines = process._getActiveHandles().map((h) => {
        const what = [h.constructor?.name];
        if (h.pid) what.push(`pid ${h.pid}: ${h.spawnargs?.join(' ')}`);
        if (h.remotePort) what.push(`${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}`);
        else if (typeof h.address === 'function' && h.address()?.port) what.push(`listening on ${h.address().port}`);
        if (h.fd >= 0 && h.fd <= 2) what.push(`fd ${h.fd}`);
        return `  ${what.join(' ')}`;
      });
      const requests = process._getActiveRequests().map((r) => `  request ${r.constructor?.name}`);
      console.error(`the test process is still alive; it holds:\n${[...lines, ...requests].join('\n')}`);
    }, 10000);
    timer.unref();
  });
}

// The files imported above, read from this file itself: a second list kept
// by hand drifted from the imports once (a new file imported, not listed).
const self = fileURLToPath(import.meta.url);
const imported = [...fs.readFileSync(self, 'utf8').matchAll(/^import '\.\/([\w-]+\.test\.js)';$/gm)].map((m) => m[1]).sort();
const here = path.dirname(self);
const present = fs.readdirSync(here).filter((name) => name.endsWith('.test.js')).sort();
if (JSON.stringify(present) !== JSON.stringify(imported)) {
  throw new Error(`all-tests.js imports ${imported.join(', ')} but the folder has ${present.join(', ')}: ` +
    'import every test file');
}
