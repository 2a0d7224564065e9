// The CLI's MUTATORS setting: the module whose default export replaces the chat mutators.
// A wrong path, a module that throws while loading, or one that exports something else is the
// operator's to fix: each is a TypeError whose message says which and what to do (main.js prints
// it in one line and exits 1) rather than a stack trace, or a server that starts and then fails
// every mutation as "unknown mutator".
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const EXAMPLE = 'export default {async addTodo(tx, args, ctx) {...}}';

function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Where in `file` loading failed, for the message: " (at file:line)" when the error says. */
function whereItFailed(err, url, file) {
  // Node leaves a syntax error's place out of the error import() gets; `node --check` prints it.
  if (err instanceof SyntaxError) return ` (node --check ${file} shows where)`;
  const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = typeof err?.stack === 'string' ? new RegExp(`${escaped}:(\\d+)`).exec(err.stack) : null;
  return m ? ` (at ${file}:${m[1]})` : '';
}

/** The first line of what was thrown, as "Name: message". */
function describeThrown(err) {
  if (!(err instanceof Error)) return `the value ${String(err)}`;
  const name = err.code ? `${err.name} [${err.code}]` : err.name;
  return `${name}: ${String(err.message).split('\n')[0]}`;
}

/**
 * The mutators of the module at `setting` (a path, relative to the current folder), or
 * undefined when it is not set. Throws a TypeError naming MUTATORS when the module cannot be
 * used.
 */
export async function loadMutators(setting) {
  if (setting === undefined || setting === '') return undefined;
  const file = path.resolve(setting);
  const url = pathToFileURL(file).href;
  const heading = `MUTATORS=${setting}: the mutators module could not be loaded`;
  let mod;
  try {
    mod = await import(url);
  } catch (err) {
    // The module itself is missing (one it imports missing is a failure while loading, below).
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`'${file}'`)) {
      throw new TypeError(`${heading}: there is no file ${file} (a relative path is taken from the folder the server ` +
        `started in, ${process.cwd()}). Point MUTATORS at the file of your server mutators.`);
    }
    if (err?.code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
      throw new TypeError(`${heading}: ${file} is a folder. Point MUTATORS at the module file in it, e.g. ${path.join(setting, 'index.js')}.`);
    }
    throw new TypeError(`${heading}: it threw ${describeThrown(err)}${whereItFailed(err, url, file)}. ` +
      'Fix the module, or point MUTATORS at another one.');
  }

  const mutators = mod.default;
  if (mutators === undefined) {
    const functions = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    const hint = functions.length
      ? ` It has named exports ${functions.join(', ')}: export them as one object, export default {${functions.join(', ')}}.`
      : ` Export an object of mutator functions: ${EXAMPLE}.`;
    throw new TypeError(`${heading}: it has no default export.${hint}`);
  }
  if (typeof mutators !== 'object' || mutators === null || Array.isArray(mutators)) {
    throw new TypeError(`${heading}: its default export is ${kindOf(mutators)}, not an object of mutator functions ` +
      `(${EXAMPLE}).`);
  }
  const entries = Object.entries(mutators);
  if (entries.length === 0) {
    throw new TypeError(`${heading}: its default export has no mutators (an empty object). Put your mutator functions in it: ${EXAMPLE}.`);
  }
  const notFunctions = entries.filter(([, v]) => typeof v !== 'function');
  if (notFunctions.length) {
    const [name, value] = notFunctions[0];
    throw new TypeError(`${heading}: its default export's ${JSON.stringify(name)} is ${kindOf(value)}, not a function: ` +
      'every property of the default export is a mutator (keep other values outside it).');
  }
  return mutators;
}
