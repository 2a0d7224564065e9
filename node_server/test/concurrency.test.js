// Many clients pushing at once, to one space and to several: every mutation applied exactly
// once, lmids right, every client converges to the server's state. On every storage.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORAGES, backend, startServer, token, uid } from './helpers.js';
import { countingMutators, simulateClient, checkRun } from './sim.js';

for (const kind of STORAGES) {
  describe(`concurrency on ${kind}`, { timeout: 60_000 }, () => {
    let b, server;
    before(async () => {
      b = await backend(kind);
      server = await startServer(b.newStorage(), { mutators: countingMutators });
    });
    after(async () => {
      await server?.close();
      await b?.stop();
    });

    async function run(spaces, clientCount, perClient) {
      const jobs = [];
      for (let i = 0; i < clientCount; i++) {
        // Pairs of clients share a group (same user, same space), like two tabs.
        const pair = Math.floor(i / 2);
        const space = spaces[pair % spaces.length];
        const user = `u${pair % 5}`;
        const group = `${space}-g${pair}`;
        const auth = token(user);
        jobs.push(simulateClient({ api: server.api, space, group, clientID: `${space}-c${i}`, auth, mutations: perClient })
          .then((r) => ({ ...r, space, auth })));
      }
      const results = await Promise.all(jobs);
      await checkRun([server.api], spaces, results, perClient);
    }

    it('20 clients pushing concurrently to one space', async () => {
      await run([uid('one')], 20, 12);
    });

    it('20 clients pushing concurrently to four spaces', async () => {
      await run([uid('s'), uid('s'), uid('s'), uid('s')], 20, 12);
    });
  });
}
