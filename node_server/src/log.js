// Logging. A logger is any object with info(obj) and error(obj); `silentLogger` drops everything
// (tests). Two formats of the same entries: JSON, one object per line, for log collectors
// (production), and pretty, one short line of text per entry, for a person at a terminal (the
// demo; LOG_FORMAT in main.js picks one).

export function createJsonLogger(stream = process.stdout, errStream = process.stderr) {
  const write = (s, level, obj) => {
    s.write(JSON.stringify({ time: new Date().toISOString(), level, ...obj }) + '\n');
  };
  return {
    info: (obj) => write(stream, 'info', obj),
    error: (obj) => write(errStream, 'error', obj),
  };
}

export const silentLogger = { info() {}, error() {} };

/** A logger that keeps entries in memory (handy for asserting on logs in tests). */
export function createMemoryLogger() {
  const entries = [];
  return {
    entries,
    info: (obj) => entries.push({ level: 'info', ...obj }),
    error: (obj) => entries.push({ level: 'error', ...obj }),
  };
}

/** Make a value JSON-loggable (Error objects lose their fields under JSON.stringify). */
export function errorInfo(err) {
  if (err instanceof Error) return { name: err.name, message: err.message, code: err.code };
  return { message: String(err) };
}

// Pretty format -----------------------------------------------------------------------------

// What an API request is called on its line; other paths are shown as "GET /path".
const REQUEST_NAMES = { '/api/push': 'push', '/api/pull': 'pull', '/api/poke': 'poke', '/api/login': 'login', '/healthz': 'healthz' };
// Shown elsewhere on a line, or not worth a column on a terminal.
const PRETTY_SKIPPED = new Set(['msg', 'time', 'level', 'error']);
// The API's names (and "error") fit, so the columns after them line up.
const NAME_WIDTH = 5;

// Values can carry what a client sent (a body that is not JSON is quoted in the reason): escape
// control characters, so no line breaks in two and no terminal escape sequence gets through.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const printable = (text) => String(text).replace(CONTROL_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A value of a key=value pair: bare when it reads unambiguously, else quoted as JSON. */
function prettyValue(value) {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? printable(value) : printable(JSON.stringify(value));
  if (value !== null && typeof value === 'object') return printable(JSON.stringify(value));
  return printable(String(value));
}

/** errorInfo()'s {name, message, code}, or a plain message, as "Name: message (code)". */
function prettyError(error) {
  if (error === undefined || error === null) return '';
  if (typeof error !== 'object') return printable(String(error));
  const head = error.name ? `${error.name}: ` : '';
  return printable(`${head}${error.message ?? JSON.stringify(error)}${error.code ? ` (${error.code})` : ''}`);
}

const plural = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;

const ANSI = { dim: '\x1b[2m', red: '\x1b[31m', yellow: '\x1b[33m', reset: '\x1b[0m' };

/**
 * One entry as one line of text (no newline), e.g.
 *   14:03:22 push   space=chat  user=alice  3 mutations  200  4 ms
 *   14:03:25 pull   space=chat  401  0.4 ms  not authenticated: the token has expired
 *   14:03:26 error  mutation failed; ...  space=chat  user=alice  mutator=createMessage  Error: content must be a string
 * `date` gives the time of day (local: it is read next to the wall clock); `color` adds ANSI colors.
 */
export function formatPretty(level, entry, { date = new Date(), color = false } = {}) {
  const paint = (code, text) => (color ? `${ANSI[code]}${text}${ANSI.reset}` : text);
  const pad2 = (n) => String(n).padStart(2, '0');
  const time = paint('dim', `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`);
  const columns = [];

  if (entry.msg === 'request') {
    const name = REQUEST_NAMES[entry.path] ?? `${entry.method} ${printable(entry.path)}`;
    columns.push(name.padEnd(NAME_WIDTH));
    if (entry.space !== undefined) columns.push(`space=${prettyValue(entry.space)}`);
    if (entry.userID !== undefined) columns.push(`user=${prettyValue(entry.userID)}`);
    if (entry.mutations !== undefined) columns.push(plural(entry.mutations, 'mutation'));
    if (entry.patchOps !== undefined) columns.push(plural(entry.patchOps, 'patch op'));
    const status = entry.status === 101 ? 'socket opened' : String(entry.status);
    columns.push(entry.status >= 500 ? paint('red', status) : entry.status >= 400 ? paint('yellow', status) : status);
    if (typeof entry.ms === 'number') columns.push(`${entry.ms < 1 ? entry.ms.toFixed(1) : Math.round(entry.ms)} ms`);
    if (entry.reason !== undefined) columns.push(printable(entry.reason));
    return `${time} ${columns.join('  ')}`;
  }
  if (entry.msg === 'listening' && entry.url) {
    return `${time} listening on ${printable(entry.url)}${entry.storage ? ` (${printable(entry.storage)})` : ''}`;
  }

  if (level === 'error') columns.push(paint('red', 'error'.padEnd(NAME_WIDTH)));
  columns.push(printable(entry.msg ?? ''));
  for (const [key, value] of Object.entries(entry)) {
    if (PRETTY_SKIPPED.has(key) || value === undefined) continue;
    columns.push(`${key === 'userID' ? 'user' : key}=${prettyValue(value)}`);
  }
  // Last, where a long message does not push the fields out of sight.
  const error = prettyError(entry.error);
  if (error) columns.push(level === 'error' ? paint('red', error) : error);
  return `${time} ${columns.join('  ')}`;
}

/**
 * A logger writing formatPretty() lines: info on `stream`, errors on `errStream` (as the JSON
 * logger does). Colors only on a terminal, and not when NO_COLOR is set (https://no-color.org).
 */
export function createPrettyLogger(stream = process.stdout, errStream = process.stderr, { env = process.env } = {}) {
  const colorFor = (s) => Boolean(s.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
  const write = (s, level, obj) => {
    s.write(formatPretty(level, obj, { color: colorFor(s) }) + '\n');
  };
  return {
    info: (obj) => write(stream, 'info', obj),
    error: (obj) => write(errStream, 'error', obj),
  };
}
