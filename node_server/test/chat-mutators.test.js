// The demo chat's server mutators on their own (a Map for a transaction): the times a client
// sends are kept, validated, and never in the server's future; only the author edits or
// deletes; and the page's own mutators (web/mutators.js) agree with them on the limits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chatMutators, MAX_CONTENT_LENGTH } from '../src/chat-mutators.js';
import * as page from '../../web/mutators.js';

function memoryTx() {
  const data = new Map();
  return {
    data,
    async get(key) { return data.get(key); },
    async has(key) { return data.has(key); },
    async set(key, value) { data.set(key, value); },
    async del(key) { return data.delete(key); },
  };
}
const ctx = (userID, version = 1) => ({ userID, clientID: 'c', space: 's', mutationID: version, version });

describe('chat mutators', () => {
  it('keep the client\'s createdAt and editedAt', async () => {
    const tx = memoryTx();
    await chatMutators.createMessage(tx, { id: 'm', content: 'hi', createdAt: 1_700_000_000_000 }, ctx('alice', 3));
    assert.deepEqual(tx.data.get('message/m'), { from: 'alice', content: 'hi', order: 3, createdAt: 1_700_000_000_000 });
    await chatMutators.updateMessage(tx, { id: 'm', content: 'hello', editedAt: 1_700_000_060_000 }, ctx('alice', 4));
    assert.deepEqual(tx.data.get('message/m'),
      { from: 'alice', content: 'hello', order: 3, createdAt: 1_700_000_000_000, editedAt: 1_700_000_060_000 });
  });

  it('without times (a Replicache app\'s own calls), store none', async () => {
    const tx = memoryTx();
    await chatMutators.createMessage(tx, { id: 'm', content: 'hi' }, ctx('alice', 1));
    await chatMutators.updateMessage(tx, { id: 'm', content: 'ho' }, ctx('alice', 2));
    assert.deepEqual(tx.data.get('message/m'), { from: 'alice', content: 'ho', order: 1 });
  });

  it('refuse a time that is not whole milliseconds since 1970, and cut one from the future', async () => {
    const tx = memoryTx();
    for (const createdAt of ['2024-01-01', 1.5, -1, NaN, null, Number.MAX_VALUE, {}]) {
      await assert.rejects(chatMutators.createMessage(tx, { id: 'm', content: 'x', createdAt }, ctx('alice')),
        /createdAt must be a time/, String(createdAt));
    }
    assert.equal(tx.data.size, 0);
    const before = Date.now();
    await chatMutators.createMessage(tx, { id: 'f', content: 'x', createdAt: before + 86_400_000 }, ctx('alice'));
    const stored = tx.data.get('message/f').createdAt;
    assert.ok(stored >= before && stored <= Date.now(), 'a clock a day ahead is cut to the server\'s');
    await assert.rejects(chatMutators.updateMessage(tx, { id: 'f', content: 'y', editedAt: 'now' }, ctx('alice')),
      /editedAt must be a time/);
  });

  it('let only the author edit or delete a message', async () => {
    const tx = memoryTx();
    await chatMutators.createMessage(tx, { id: 'm', content: 'mine', createdAt: 1 }, ctx('alice'));
    await assert.rejects(chatMutators.updateMessage(tx, { id: 'm', content: 'hijack' }, ctx('bob')), /another user/);
    await assert.rejects(chatMutators.deleteMessage(tx, { id: 'm' }, ctx('bob')), /another user/);
    await assert.rejects(chatMutators.deleteMessage(tx, { id: 'gone' }, ctx('alice')), /does not exist/);
    assert.equal(tx.data.get('message/m').content, 'mine');
    await chatMutators.deleteMessage(tx, { id: 'm' }, ctx('alice'));
    assert.equal(tx.data.size, 0);
  });

  it('and the page\'s mutators agree: the same length limit, the same fields', async () => {
    assert.equal(page.MAX_CONTENT_LENGTH, MAX_CONTENT_LENGTH);
    const server = memoryTx();
    const client = memoryTx();
    const args = { id: 'm', from: 'alice', content: 'hi', createdAt: 1_700_000_000_000 };
    await chatMutators.createMessage(server, args, ctx('alice', 7));
    await page.mutators.createMessage(client, args);
    // The client's guess differs only in the order, which the server assigns.
    assert.deepEqual({ ...client.data.get('message/m'), order: 7 }, server.data.get('message/m'));
    const edit = { id: 'm', content: 'edited', editedAt: 1_700_000_001_000 };
    await chatMutators.updateMessage(server, edit, ctx('alice', 8));
    await page.mutators.updateMessage(client, edit);
    assert.deepEqual({ ...client.data.get('message/m'), order: 7 }, server.data.get('message/m'));
    await chatMutators.deleteMessage(server, { id: 'm' }, ctx('alice', 9));
    await page.mutators.deleteMessage(client, { id: 'm' });
    assert.equal(client.data.size + server.data.size, 0);
  });
});
