// Structured JSON logging: one JSON object per line.
// A logger is any object with info(obj) and error(obj); `silentLogger` drops everything (tests).

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
