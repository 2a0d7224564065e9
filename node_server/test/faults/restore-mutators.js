// The restore fault's mutators, the same on the server (MUTATORS=...) and in the replicore
// clients: `add` puts a key of its own and counts per client with a read-modify-write, so a
// mutation applied twice shows as a count above the number of keys, and a lost one as a key
// and a count missing.
export default {
  async add(tx, { client, n }) {
    if (typeof client !== 'string' || !Number.isSafeInteger(n)) throw new Error('bad args');
    await tx.set(`item/${client}/${String(n).padStart(6, '0')}`, n);
    const count = (await tx.get(`count/${client}`)) ?? 0;
    await tx.set(`count/${client}`, count + 1);
  },
};
