// The pretty log format (LOG_FORMAT=pretty): one line of text per entry, whatever the entry holds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrettyLogger, formatPretty } from '../src/log.js';

const at = new Date(2026, 10, 30, 14, 3, 22);
const pretty = (level, entry, options = {}) => formatPretty(level, entry, { date: at, ...options });

describe('pretty log lines', () => {
  it('a push, a pull and a poke socket: name, space, user, counts, status, time', () => {
    assert.equal(pretty('info', {
      msg: 'request', method: 'POST', path: '/api/push', status: 200, ms: 4.38, requestID: 'c1-x-1', userID: 'alice', space: 'chat', mutations: 3,
    }), '14:03:22 push   space=chat  user=alice  3 mutations  200  4 ms');
    assert.equal(pretty('info', {
      msg: 'request', method: 'POST', path: '/api/pull', status: 200, ms: 0.42, userID: 'bob', space: 'chat', patchOps: 1,
    }), '14:03:22 pull   space=chat  user=bob  1 patch op  200  0.4 ms');
    assert.equal(pretty('info', { msg: 'request', method: 'GET', path: '/api/poke', status: 101, space: 'chat', userID: 'bob', upgrade: true }),
      '14:03:22 poke   space=chat  user=bob  socket opened');
    assert.equal(pretty('info', { msg: 'request', method: 'GET', path: '/app.js', status: 304, ms: 12.6 }), '14:03:22 GET /app.js  304  13 ms');
  });

  it('a refusal ends with its reason', () => {
    assert.equal(pretty('info', {
      msg: 'request', method: 'POST', path: '/api/push', status: 403, ms: 2, userID: 'bob', space: 'team-red', reason: 'bob may not write space team-red',
    }), '14:03:22 push   space=team-red  user=bob  403  2 ms  bob may not write space team-red');
  });

  it('an error: its message, the fields, and what was thrown last', () => {
    assert.equal(pretty('error', {
      msg: 'mutation failed; lastMutationID advanced with nothing else written', requestID: undefined, userID: 'alice', space: 'chat',
      clientID: 'c1', mutationID: 4, mutator: 'createMessage', error: { name: 'TypeError', message: 'content must be a string' },
    }), '14:03:22 error  mutation failed; lastMutationID advanced with nothing else written  user=alice  space=chat  clientID=c1  ' +
      'mutationID=4  mutator=createMessage  TypeError: content must be a string');
    assert.equal(pretty('error', { msg: 'poke socket error', space: 'chat', error: 'read ECONNRESET' }),
      '14:03:22 error  poke socket error  space=chat  read ECONNRESET');
    assert.equal(pretty('error', { msg: 'pg pool error', error: { name: 'Error', message: 'terminated', code: '57P01' } }),
      '14:03:22 error  pg pool error  Error: terminated (57P01)');
    assert.equal(pretty('info', { msg: 'listening', url: 'http://127.0.0.1:8080/', storage: 'sqlite' }),
      '14:03:22 listening on http://127.0.0.1:8080/ (sqlite)');
  });

  it('stays one line: values with spaces are quoted, control characters escaped', () => {
    const line = pretty('info', {
      msg: 'request', method: 'POST', path: '/api/push', status: 400, ms: 1, space: 's', reason: 'body is not valid JSON: "\n\u001b[31mred\u2028',
    });
    assert.equal(line, '14:03:22 push   space=s  400  1 ms  body is not valid JSON: "\\u000a\\u001b[31mred\\u2028');
    assert.equal(pretty('error', { msg: 'x', name: 'two words', detail: { a: 1 } }), '14:03:22 error  x  name="two words"  detail={"a":1}');
    assert.equal(pretty('error', { msg: 'x', userID: 'a\u0007b' }), '14:03:22 error  x  user=a\\u0007b');
  });

  it('colors only a terminal, and not with NO_COLOR', () => {
    const lines = [];
    const stream = (isTTY) => ({ isTTY, write: (s) => lines.push(s) });
    const entry = { msg: 'request', method: 'POST', path: '/api/pull', status: 503, ms: 1 };
    createPrettyLogger(stream(true), stream(true), { env: {} }).info(entry);
    createPrettyLogger(stream(true), stream(true), { env: { NO_COLOR: '1' } }).info(entry);
    createPrettyLogger(stream(false), stream(false), { env: {} }).info(entry);
    assert.match(lines[0], /\x1b\[31m503\x1b\[0m/);
    assert.doesNotMatch(lines[1], /\x1b/);
    assert.doesNotMatch(lines[2], /\x1b/);
    assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  });
});
