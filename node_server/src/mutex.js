// A tiny FIFO async mutex, plus a keyed variant (one mutex per key, dropped when idle).
export class Mutex {
  #tail = Promise.resolve();
  run(fn) {
    const result = this.#tail.then(() => fn());
    this.#tail = result.then(() => {}, () => {});
    return result;
  }
}

export class KeyedMutex {
  #tails = new Map();
  run(key, fn) {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const result = prev.then(() => fn());
    const tail = result.then(() => {}, () => {});
    this.#tails.set(key, tail);
    tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
