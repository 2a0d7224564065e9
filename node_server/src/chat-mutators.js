// The demo chat's server-side mutators. Each is `async (tx, args, ctx) => void`.
//   tx:  get(key), has(key), set(key, value) / put, del(key), scan({prefix})
//   ctx: { userID, clientID, space, mutationID, version }
// A mutator that throws leaves nothing written (the server still advances the client's
// lastMutationID, so the client is not stuck). Messages live at `message/<id>` as
// `{from, content, order, createdAt?, editedAt?}`; `order` is assigned here from ctx.version,
// the space version this mutation commits at, which increases per space, so every client sees
// the same order. The times are the client's (when it typed, which may be long before an
// offline client pushes), validated; the demo page (web/mutators.js) sends them.

export const MAX_CONTENT_LENGTH = 10_000;
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export class MutatorArgError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MutatorArgError';
  }
}

function requireObject(args) {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new MutatorArgError('args must be an object');
  }
  return args;
}

function requireID(args) {
  if (typeof args.id !== 'string' || !ID_RE.test(args.id)) {
    throw new MutatorArgError('id must be 1..128 characters of A-Z a-z 0-9 _ -');
  }
  return args.id;
}

function requireContent(args) {
  if (typeof args.content !== 'string') throw new MutatorArgError('content must be a string');
  if (args.content.length > MAX_CONTENT_LENGTH) {
    throw new MutatorArgError(`content is longer than ${MAX_CONTENT_LENGTH} characters`);
  }
  return args.content;
}

// A time from the client's clock, in ms since 1970, or undefined when not sent. A clock ahead
// of the server's is cut to the server's time, so that no message claims to come from the
// future (and sorts days ahead in every other window).
function clientTime(args, name) {
  const t = args[name];
  if (t === undefined) return undefined;
  if (!Number.isSafeInteger(t) || t < 0) throw new MutatorArgError(`${name} must be a time in ms since 1970`);
  return Math.min(t, Date.now());
}

async function ownMessage(tx, id, ctx) {
  const key = `message/${id}`;
  const msg = await tx.get(key);
  if (msg === undefined) throw new Error(`message ${id} does not exist`);
  if (msg.from !== ctx.userID) throw new Error(`message ${id} belongs to another user`);
  return { key, msg };
}

export const chatMutators = {
  async createMessage(tx, args, ctx) {
    requireObject(args);
    const id = requireID(args);
    const content = requireContent(args);
    // `from` is who is logged in; a client may send it (its optimistic copy shows it), but it
    // cannot claim to be someone else.
    if (args.from !== undefined && args.from !== ctx.userID) {
      throw new MutatorArgError('from must be the logged-in user');
    }
    // `order` from the client is only provisional; it must be a number if present.
    if (args.order !== undefined && (typeof args.order !== 'number' || !Number.isFinite(args.order))) {
      throw new MutatorArgError('order must be a number');
    }
    const createdAt = clientTime(args, 'createdAt');
    const key = `message/${id}`;
    if (await tx.has(key)) throw new Error(`message ${id} already exists`);
    await tx.set(key, { from: ctx.userID, content, order: ctx.version, ...(createdAt === undefined ? {} : { createdAt }) });
  },

  async updateMessage(tx, args, ctx) {
    requireObject(args);
    const id = requireID(args);
    const content = requireContent(args);
    const editedAt = clientTime(args, 'editedAt');
    const { key, msg } = await ownMessage(tx, id, ctx);
    await tx.set(key, { ...msg, content, ...(editedAt === undefined ? {} : { editedAt }) });
  },

  async deleteMessage(tx, args, ctx) {
    requireObject(args);
    const id = requireID(args);
    const { key } = await ownMessage(tx, id, ctx);
    await tx.del(key);
  },
};

export default chatMutators;
