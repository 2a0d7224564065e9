// Logging as Replicache does it: sinks are called as
// `log(level, context, ...args)`, where `context` holds key/value pairs
// about the source (here the instance's name), so sinks written for
// Replicache (and @rocicorp/logger's) work unchanged.

// Replicache's levels, lowest first: a sink gets messages at or above the
// instance's logLevel.
export const LOG_LEVELS = {debug: 0, info: 1, warn: 2, error: 3};

function contextPrefix(context) {
  if (!context) return [];
  const parts = [];
  for (const [k, v] of Object.entries(context)) if (v !== undefined) parts.push(`${k}=${v}`);
  return parts.length ? [parts.join(' ')] : [];
}

/** Writes to the console, the context first (as Replicache's does). */
export const consoleLogSink = {
  log(level, context, ...args) {
    const write = level === 'error' ? console.error : level === 'warn' ? console.warn : level === 'info' ? console.info : console.debug;
    write(...contextPrefix(context), ...args);
  },
};

/**
 * Returns log(level, ...args) sending to `sinks` what is at or above
 * `logLevel`, with `context`. An unknown level name counts as 'info'. A
 * sink that throws is skipped: logging never breaks the caller.
 */
export function makeLog(logLevel, sinks, context) {
  const min = LOG_LEVELS[logLevel ?? 'info'] ?? LOG_LEVELS.info;
  return (level, ...args) => {
    if ((LOG_LEVELS[level] ?? LOG_LEVELS.info) < min) return;
    for (const sink of sinks) {
      try {
        sink.log(level, context, ...args);
      } catch {
        // a broken sink must not break sync
      }
    }
  };
}
