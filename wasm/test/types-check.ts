// Compiled with `tsc --noEmit` by types.test.js: the declarations accept
// ordinary Replicache-style code.
import {Replicache, type WriteTransaction, type ReadTransaction, configureWasm} from 'replicore';

const rep = new Replicache({
  name: 'typed',
  pullInterval: null,
  pokeURL: 'ws://localhost/api/poke?space=s',
  indexes: {byText: {prefix: 'message/', jsonPointer: '/text'}},
  mutators: {
    async createMessage(tx: WriteTransaction, args: {id: string; text: string}) {
      await tx.set(`message/${args.id}`, {text: args.text});
      return args.id;
    },
    async clear(tx: WriteTransaction) {
      for await (const k of tx.scan({prefix: 'message/'}).keys()) await tx.del(k);
    },
  },
});
async function main() {
  const id: string = await rep.mutate.createMessage({id: '1', text: 'hi'});
  await rep.mutate.clear();
  const msgs = await rep.query((tx: ReadTransaction) => tx.scan({prefix: 'message/', limit: 10}).entries().toArray());
  const first: readonly [string, unknown] | undefined = msgs[0];
  const stop = rep.subscribe(
    (tx) => tx.get<{text: string}>('message/1'),
    {onData: (m) => console.log(m?.text, id, first), onError: (e) => console.error(e)},
  );
  stop();
  rep.experimentalWatch((diff) => diff.forEach((d) => d.op === 'add' && d.newValue), {prefix: 'message/', initialValuesInFirstDiff: true});
  // Indexes: keys are [secondary, primary].
  const byText = await rep.query((tx) => tx.scan({indexName: 'byText', prefix: 'h', start: {key: ['hi', 'message/1']}}).keys().toArray());
  const secondary: string | undefined = byText[0]?.[0];
  rep.experimentalWatch((diff) => diff.forEach((d) => console.log(d.key[0], d.key[1], secondary)), {indexName: 'byText'});
  rep.onOnlineChange = (online: boolean) => console.log(online);
  rep.getAuth = async () => 'token';
  const pending = await rep.experimentalPendingMutations();
  console.log(pending[0]?.name, await rep.clientGroupID, rep.clientID, rep.online);
  await rep.pull();
  await rep.close();
  configureWasm({locateFile: (p) => `/assets/${p}`});
}
void main;
