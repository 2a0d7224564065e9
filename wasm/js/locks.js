// The write queue and the read gate that order mutations, rebases and reads.

// -------------------------------------------------------------- the locks --

// Writes (mutations, rebases) run one at a time, in arrival order.
// lock() returns null when granted at once (no microtask), else a promise.
export class Mutex {
  constructor() {
    this.held = false;
    this.waiting = [];
  }
  lock() {
    if (!this.held) {
      this.held = true;
      return null;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  unlock() {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

// Reads versus commits. A read transaction sees one consistent state: it
// starts at once (also while a mutator or a rebase runs; it sees the last
// committed state), and a commit waits until the reads already open have
// finished, holding new ones back meanwhile. So a mutator may await a query
// without deadlock; only a read that awaits a mutation while it is open
// would wait forever (it cannot see that mutation anyway).
export class ReadGate {
  constructor() {
    this.readers = 0;
    this.committing = false;
    this.waitingReads = [];
    this.waitingCommit = null;
  }
  read() {
    if (!this.committing) {
      this.readers++;
      return null;
    }
    return new Promise((resolve) => this.waitingReads.push(resolve));
  }
  releaseRead() {
    this.readers--;
    if (this.readers === 0 && this.waitingCommit) {
      const go = this.waitingCommit;
      this.waitingCommit = null;
      go();
    }
  }
  // Call with the write mutex held; follow with endCommit().
  commit() {
    this.committing = true;
    if (this.readers === 0) return null;
    return new Promise((resolve) => (this.waitingCommit = resolve));
  }
  endCommit() {
    this.committing = false;
    const w = this.waitingReads;
    this.waitingReads = [];
    this.readers += w.length;
    for (const go of w) go();
  }
}
