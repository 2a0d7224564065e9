// Error classes Replicache 15 exports, so that apps moving over keep their
// `instanceof` checks and `name` tests. Same messages, names and fields as
// Replicache's: `name` is an own property, PullError and PushError carry
// the failure that caused them in `causedBy`.
//
// replicore's pull() and push() do not reject when a request fails (the
// core retries with backoff and reports through onOnlineChange and the
// logs), so it does not throw PullError or PushError itself; a custom
// puller or pusher may. IDBNotFoundError is what the IndexedDB store fails
// with when its database was deleted under it (store/idb-store.js).

export class PullError extends Error {
  constructor(causedBy) {
    super('Failed to pull');
    this.name = 'PullError';
    this.causedBy = causedBy;
  }
}

export class PushError extends Error {
  constructor(causedBy) {
    super('Failed to push');
    this.name = 'PushError';
    this.causedBy = causedBy;
  }
}

export class IDBNotFoundError extends Error {
  constructor(message) {
    super(message);
    this.name = 'IDBNotFoundError';
  }
}
