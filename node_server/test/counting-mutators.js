// Mutators for concurrency tests and the bench (also loadable by the CLI via MUTATORS=...).
/** Mutators whose result shows lost or doubled updates: `incr` is a read-modify-write. */
export const countingMutators = {
  async add(tx, { key }, ctx) {
    if (typeof key !== 'string') throw new Error('key must be a string');
    if (await tx.has(`item/${key}`)) throw new Error('duplicate add');
    await tx.set(`item/${key}`, { by: ctx.clientID });
  },
  async incr(tx, args) {
    const n = (await tx.get('counter')) ?? 0;
    await tx.set('counter', n + (args?.by ?? 1));
  },
};

export default countingMutators;
