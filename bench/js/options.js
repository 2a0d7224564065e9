// The command line of the bench's programs: `--name value` options and
// `--name` flags, read from process.argv.
const args = process.argv.slice(2);

/** The value after `name` on the command line, or `fallback`. */
export function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Whether `name` is on the command line. */
export function flag(name) {
  return args.includes(name);
}
