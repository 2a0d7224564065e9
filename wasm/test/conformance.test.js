// Differential conformance, in Node: every scenario of
// conformance-scenarios.js runs once against the real Replicache 15.3.0
// and once against replicore (the packed package), and the two results must
// agree by that module's rules. tests/e2e/conformance.test.js runs the same
// scenarios in Chromium, Firefox and WebKit.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {compare, runScenario, scenarios} from './conformance-scenarios.js';
import {loadReplicore} from './helpers/package.js';
import {loadReplicache} from './helpers/replicache.js';

const libs = {replicache: await loadReplicache(), replicore: await loadReplicore()};

for (const scenario of scenarios) {
  test(scenario.name, async () => {
    compare(scenario, await runScenario(scenario, libs), assert);
  });
}
