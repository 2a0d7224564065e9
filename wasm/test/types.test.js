// The hand-written .d.ts type-checks typical Replicache-style code
// (test/types-check.ts) as installed from the tarball.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {copyFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {installedProject} from './helpers/package.js';

const here = dirname(fileURLToPath(import.meta.url));

test('replicore.d.ts type-checks with tsc (strict)', () => {
  const project = installedProject();
  copyFileSync(join(here, 'types-check.ts'), join(project, 'types-check.ts'));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], skipLibCheck: false},
      files: ['types-check.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', project], {encoding: 'utf8', cwd: project});
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});
