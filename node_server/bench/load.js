#!/usr/bin/env node
// Load bench (a program, not a test): many concurrent protocol clients push and pull against
// server processes over loopback, for SQLite (1 instance), PostgreSQL (1 instance) and
// PostgreSQL (2 instances sharing the database), bounded in clients and time.
//
//   node bench/load.js [--clients 24] [--seconds 6] [--spaces 4] [--configs sqlite,pg1,pg2]
//
// Each client loops: make one new mutation, push every unconfirmed mutation of its own, pull
// from its cookie (which confirms mutations through lastMutationIDChanges). Prints requests/s
// and p50/p99 latency per configuration, and checks afterwards that every confirmed mutation
// was applied exactly once.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/pg-harness.js';
import { spawnInstance } from '../test/instances.js';
import { token, pushBody, pullBody, mut, applyPatch } from '../test/helpers.js';

// A lean keep-alive HTTP client (undici's fetch costs noticeably more CPU, and the load
// generator shares the 2 cores with the servers).
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function leanAPI(base) {
  const { hostname, port } = new URL(base);
  const post = (p, body, { auth, space }) => new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: hostname, port, agent, method: 'POST', path: `${p}?space=${encodeURIComponent(space)}`,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), Authorization: auth },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, body: json, text });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
  return { push: (b, o) => post('/api/push', b, o), pull: (b, o) => post('/api/pull', b, o) };
}

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map((s) => s.trim().split(/\s+/)));
const CLIENTS = Math.min(Number(args.clients ?? 24), 200);
const SECONDS = Math.min(Number(args.seconds ?? 6), 60);
const SPACES = Math.max(1, Number(args.spaces ?? 4));
const CONFIGS = (args.configs ?? 'sqlite,pg1,pg2').split(',');
const MUTATORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/both-mutators.js');

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runClient({ api, space, i, deadline, lat }) {
  const clientID = `bench-${process.pid}-${space}-c${i}`;
  const group = `bench-${process.pid}-${space}-g${i}`;
  const auth = token(`user${i % 8}`);
  let cookie = null;
  let lmid = 0;
  let next = 1;
  const pending = [];
  let errors = 0;
  while (Date.now() < deadline) {
    pending.push(mut(clientID, next, 'add', { key: `${clientID}-${next}` }, performance.now()));
    next++;
    let t0 = performance.now();
    const pr = await api.push(pushBody(group, pending), { auth, space });
    lat.push.push(performance.now() - t0);
    if (pr.status !== 200 || pr.body?.error) errors++;
    t0 = performance.now();
    const pl = await api.pull(pullBody(group, cookie), { auth, space });
    lat.pull.push(performance.now() - t0);
    if (pl.status !== 200 || pl.body?.error) {
      errors++;
      continue;
    }
    cookie = pl.body.cookie;
    lmid = pl.body.lastMutationIDChanges[clientID] ?? lmid;
    while (pending.length && pending[0].id <= lmid) pending.shift();
  }
  return { lmid, errors };
}

async function runConfig(name, instances) {
  const lat = { push: [], pull: [] };
  const spaces = Array.from({ length: SPACES }, (_, k) => `bench-${name.replace(/[^A-Za-z0-9]/g, "")}-${k}`);
  const t0 = Date.now();
  const deadline = t0 + SECONDS * 1000;
  const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) =>
    runClient({ api: instances[i % instances.length].lean, space: spaces[i % SPACES], i, deadline, lat })));
  const elapsed = (Date.now() - t0) / 1000;
  // Exactly-once check: items in each space == sum of confirmed lmids of its clients (each
  // mutation adds one distinct item; a duplicate would fail the mutator, a lost one would be missing).
  let items = 0;
  for (const space of spaces) {
    const r = await instances[0].lean.pull(pullBody(`probe-${space}`, null), { auth: token('probe'), space });
    items += [...applyPatch(new Map(), r.body.patch).keys()].filter((k) => k.startsWith('item/')).length;
  }
  const confirmed = results.reduce((s, r) => s + r.lmid, 0);
  lat.push.sort((a, b) => a - b);
  lat.pull.sort((a, b) => a - b);
  const f = (x) => x.toFixed(1);
  return {
    config: name,
    instances: instances.length,
    clients: CLIENTS,
    seconds: f(elapsed),
    'pushes/s': f(lat.push.length / elapsed),
    'pulls/s': f(lat.pull.length / elapsed),
    'push p50 ms': f(pct(lat.push, 50)),
    'push p99 ms': f(pct(lat.push, 99)),
    'pull p50 ms': f(pct(lat.pull, 50)),
    'pull p99 ms': f(pct(lat.pull, 99)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    'exactly once': items >= confirmed ? `yes (${items} items, ${confirmed} confirmed)` : `NO (${items} items < ${confirmed} confirmed)`,
  };
}

const rows = [];
const env = { LOG_LEVEL: 'error', MUTATORS };
let pg = null;
const cleanups = [];
try {
  for (const cfg of CONFIGS) {
    let instances;
    if (cfg === 'sqlite') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicore-bench-'));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      instances = [await spawnInstance({ ...env, DATA_DIR: dir, DATABASE_URL: '' })];
    } else {
      pg ??= await startPostgres();
      const n = cfg === 'pg2' ? 2 : 1;
      instances = [];
      for (let k = 0; k < n; k++) instances.push(await spawnInstance({ ...env, DATABASE_URL: pg.url }));
    }
    for (const inst of instances) inst.lean = leanAPI(inst.base);
    const name = cfg === 'sqlite' ? 'sqlite' : `postgres x${instances.length}`;
    try {
      rows.push(await runConfig(name, instances));
      console.error(`done: ${name}`);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
    }
  }
} finally {
  agent.destroy();
  await pg?.stop();
  for (const c of cleanups) c();
}

console.log(`replicore node_server load bench: ${CLIENTS} clients, ${SPACES} spaces, ${SECONDS} s per configuration, ` +
  `node ${process.version}, ${os.cpus().length} CPUs, loopback, load average at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.table(rows);
