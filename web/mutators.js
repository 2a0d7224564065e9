// The chat's client-side mutators. They run at once on the local cache (so a
// message shows before the server has it) and run again on every rebase.
// The server runs its own versions (node_server/src/chat-mutators.js) inside
// the push's transaction; their results replace these optimistic ones when a
// pull confirms the mutation. The server assigns `order`; until then a
// message has `order: null` and sorts after every confirmed one. The server
// also decides who may edit or delete (the author only): a change it refuses
// disappears at the next pull, and the page says so (app.js, "refusals").
// node_server/test/chat-mutators.test.js checks that both sides agree.

// The longest message the server accepts (its MAX_CONTENT_LENGTH): the page's
// inputs take no more, so nothing typed is refused for its length.
export const MAX_CONTENT_LENGTH = 10_000;

export const mutators = {
  async createMessage(tx, {id, from, content, createdAt}) {
    await tx.set(`message/${id}`, {from, content, order: null, createdAt});
  },
  async updateMessage(tx, {id, content, editedAt}) {
    const key = `message/${id}`;
    const old = await tx.get(key);
    if (old === undefined) return;
    await tx.set(key, {...old, content, ...(editedAt === undefined ? {} : {editedAt})});
  },
  async deleteMessage(tx, {id}) {
    await tx.del(`message/${id}`);
  },
};

// Confirmed messages in server order, then pending ones in the order typed.
export function sortMessages(entries) {
  return entries
    .map(([key, value]) => ({id: key.slice('message/'.length), ...value}))
    .sort((a, b) => {
      if (a.order === null && b.order === null) return (a.createdAt ?? 0) - (b.createdAt ?? 0);
      if (a.order === null) return 1;
      if (b.order === null) return -1;
      return a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    });
}
