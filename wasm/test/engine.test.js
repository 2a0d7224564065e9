// The engine a user agent names (js/engine.js, from the package's sources):
// it picks per-engine behaviour (IndexedDB page size, JSON in pieces), so a
// browser taken for another engine gets the other's settings. That
// happened: headless Chromium was taken for WebKit.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {engineOf, ENGINE} from '../js/engine.js';

test('engineOf names the engine, not the brand', () => {
  const agents = {
    // Chromium headless says HeadlessChrome/: it was taken for WebKit once.
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36': 'blink',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36': 'blink',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0': 'blink',
    'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0': 'gecko',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/60.5 Safari/605.1.15': 'webkit',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15': 'webkit',
    // Every browser on iOS is WebKit, whatever it calls itself.
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1': 'webkit',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15': 'webkit',
    'Node.js/22': 'other',
  };
  for (const [ua, engine] of Object.entries(agents)) assert.equal(engineOf(ua), engine, ua);
  assert.equal(engineOf(undefined), 'other');
  assert.equal(ENGINE, 'other'); // Node
});
