// Store errors: every failure of the persistence layer (IndexedDB, memory or
// a custom kvStore) becomes one Error whose message names the operation and
// the cause, e.g. "replicore: IndexedDB write failed: QuotaExceededError: ...".
// Guarantees: the cause's `name` is kept on the new error (so callers can test
// `e.name === 'QuotaExceededError'` as they would on a DOMException), the
// original is on `cause`, and an error made here is never wrapped twice.

export function storeError(op, cause) {
  if (cause?.replicoreStore) return cause;
  const name = typeof cause?.name === 'string' && cause.name !== 'Error' ? cause.name : '';
  const text = cause?.message || (cause instanceof Error || cause == null ? '' : String(cause));
  const why = name && text ? `${name}: ${text}` : name || text || 'unknown error';
  const e = new Error(`replicore: ${op} failed: ${why}`, {cause});
  if (name) e.name = name;
  e.replicoreStore = true;
  return e;
}
