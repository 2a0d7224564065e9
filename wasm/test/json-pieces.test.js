// The JSON text of large values in pieces (js/json-pieces.js, from the
// package's sources: plain JavaScript). The pieces path runs for real only
// in Blink, so here its text is checked against JSON.stringify's on values
// of every shape; the e2e suite sends large values through it in Chromium
// (tests/e2e/large-text.test.js).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {jsonPieces, jsonText, textUnits} from '../js/json-pieces.js';

// Values of every shape the pieces path opens or hands to JSON.stringify.
function shapes() {
  const many = (n, f) => Array.from({length: n}, (_, i) => f(i));
  const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
  return {
    'entries (a mutation of many puts)': {entries: many(200, (i) => [`k/${i}`, {id: i, text: 'x'.repeat(i % 7), done: i % 2 === 0}])},
    'a pull response': {cookie: {order: 3}, lastMutationIDChanges: {c1: 4}, patch: [{op: 'clear'}, ...many(100, (i) => ({op: 'put', key: `k${i}`, value: i}))]},
    'a top-level array of arrays': many(70, (i) => many(i % 4, (j) => j)),
    'an object of many keys': Object.fromEntries(many(100, (i) => [`key ${i}`, i % 3 ? `v${i}` : null])),
    'integer-like keys (ordered first by JSON.stringify)': {b: 1, 10: 'ten', 2: 'two', a: [1, 2]},
    'members with no JSON text': {keep: 1, u: undefined, f() {}, s: Symbol('x'), list: [undefined, () => 1, Symbol('y'), 2]},
    'a sparse array': {list: sparse},
    'text beyond ASCII and escapes': {list: ['é', '日本', '😀', 'a"b\\c\n', '\u2028', '\ud800'], 'ключ': 'значение'},
    'toJSON members (a Date)': {when: new Date(0), list: [new Date(1)]},
    'a container with a toJSON of its own': {toJSON: () => ({replaced: true})},
    'empty containers': {a: [], o: {}, n: [[], {}]},
    'nested deeper than the opened levels': {a: [[[1, [2, {x: [3]}]]]]},
    'a null-prototype object': Object.assign(Object.create(null), {a: [1, 2], b: 'c'}),
    'non-finite numbers and -0': {list: [NaN, Infinity, -0, 1e21, 5e-324]},
    'a string': 'just text',
    'a number': 42,
    'null': null,
  };
}

test('jsonPieces joined is JSON.stringify of the same value, for every shape', () => {
  for (const [name, value] of Object.entries(shapes())) {
    const pieces = jsonPieces(value);
    const text = typeof pieces === 'string' ? pieces : pieces.join('');
    assert.equal(text, JSON.stringify(value), name);
    assert.equal(textUnits(pieces), text.length, name);
  }
  assert.equal(jsonPieces(undefined), undefined);
  assert.ok(Array.isArray(jsonPieces({entries: [[1, 2]]})), 'a container comes back as pieces');
});

test('jsonPieces throws where JSON.stringify throws: cycles and BigInt', () => {
  const top = {a: []};
  top.a.push(top);
  assert.throws(() => JSON.stringify(top), TypeError);
  assert.throws(() => jsonPieces(top), TypeError);
  const arr = [];
  arr.push([arr]);
  assert.throws(() => jsonPieces(arr), TypeError);
  assert.throws(() => jsonPieces({list: [1n]}), TypeError);
});

test('jsonText outside Blink is JSON.stringify, one string', () => {
  const value = shapes()['entries (a mutation of many puts)'];
  assert.equal(jsonText(value), JSON.stringify(value));
  assert.equal(jsonText(undefined), undefined);
});
