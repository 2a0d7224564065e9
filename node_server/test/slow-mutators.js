// A mutator that waits before writing, for the limits tests (loadable by the CLI via MUTATORS=...).
export default {
  async wait(tx, { key, ms }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await tx.set(key, ms);
  },
};
