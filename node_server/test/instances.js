// Start `node src/main.js` as a separate process (multi-instance test, load bench).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { makeAPI, SECRET } from './helpers.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');

/** Start `node src/main.js` on a free port; resolves once it logs `listening`. */
export function spawnInstance(env) {
  const child = spawn(process.execPath, [MAIN], {
    // PACKAGE_DIR=off: these instances serve the API only, so they need no wasm build.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DEMO_SECRET: SECRET, PACKAGE_DIR: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors = [];
  readline.createInterface({ input: child.stderr }).on('line', (l) => errors.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start: ${errors.join('\n')}`)), 20_000);
    child.once('exit', (code) => {
      // (The timer would otherwise keep the test process alive after an instance that refused to start.)
      clearTimeout(timer);
      reject(new Error(`instance exited with ${code}: ${errors.join('\n')}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        return;
      }
      if (e.msg === 'listening') {
        clearTimeout(timer);
        const base = e.url.replace(/\/$/, '');
        resolve({
          child, base, api: makeAPI(base), errors,
          stop: () => new Promise((r) => {
            // (A child killed by a signal has no exit code, only a signal code.)
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once('exit', r);
            child.kill('SIGTERM');
          }),
        });
      }
    });
  });
}

