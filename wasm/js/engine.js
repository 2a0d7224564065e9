// Which browser engine runs the page, for the few places where the glue
// does something differently per engine (each says which behaviour of
// which engine it works around): the page size of IndexedDB stores
// (store/idb-store.js) and how large JSON texts are built (core-text.js).
//
// Read from the user agent, the only signal every engine gives before any
// work is done. What matters is the engine, not the brand: every browser on
// iOS is WebKit whatever it calls itself (CriOS, FxiOS, EdgiOS), and
// Chromium's headless mode says "HeadlessChrome/", which a pattern
// anchored at a word boundary misses (it did, and headless Chromium got
// WebKit's page size).

/**
 * 'blink' (Chrome, Chromium, Edge, Opera...), 'gecko' (Firefox), 'webkit'
 * (Safari, WebKitGTK, any iOS browser), or 'other' (Node, Deno, an unknown
 * agent) for the user agent string `ua`.
 */
export function engineOf(ua) {
  if (typeof ua !== 'string') return 'other';
  if (/\b(CriOS|FxiOS|EdgiOS)\//.test(ua)) return 'webkit';
  if (/(Chrome|Chromium)\//.test(ua)) return 'blink';
  if (/\bFirefox\//.test(ua)) return 'gecko';
  if (/\bAppleWebKit\//.test(ua)) return 'webkit';
  return 'other';
}

/** The engine running this code (pages and workers; 'other' in Node). */
export const ENGINE = engineOf(globalThis.navigator?.userAgent);
