// Packs the built package folder with `npm pack` and installs the tarball
// into a throw-away project, once per tarball content (later test files
// reuse it), then imports `replicore` from there: the tests exercise exactly
// what npm would ship.
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const wasmDir = resolve(here, '..', '..');
export const packageDir = process.env.REPLICORE_PACKAGE_DIR || resolve(wasmDir, '..', 'build-wasm', 'package');

function hashPackage() {
  const h = createHash('sha256');
  for (const f of readdirSync(packageDir).sort()) {
    if (f === 'node_modules') continue;
    h.update(f);
    h.update(readFileSync(join(packageDir, f)));
  }
  return h.digest('hex').slice(0, 16);
}

let installed = null;

// Returns the folder of a project with the packed `replicore` installed.
export function installedProject() {
  if (installed) return installed;
  if (!existsSync(join(packageDir, 'replicore_wasm.wasm'))) {
    throw new Error(`no built package in ${packageDir}: build with wasm/scripts/ci.sh (or cmake --build build-wasm)`);
  }
  const project = join(tmpdir(), `replicore-pkg-test-${hashPackage()}`);
  if (!existsSync(join(project, 'ready'))) {
    const work = `${project}.${process.pid}`;
    rmSync(work, {recursive: true, force: true});
    mkdirSync(work, {recursive: true});
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {cwd: packageDir, encoding: 'utf8'});
    const tgz = out.trim().split('\n').pop();
    writeFileSync(join(work, 'package.json'), JSON.stringify({name: 'replicore-test-project', private: true, type: 'module'}));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tgz)], {cwd: work, stdio: 'pipe'});
    writeFileSync(join(work, 'entry.js'), "export * from 'replicore';\n");
    writeFileSync(join(work, 'ready'), tgz);
    // Older copies (from earlier builds) are of no use any more.
    for (const f of readdirSync(tmpdir())) {
      if (f.startsWith('replicore-pkg-test-') && !f.includes('.') && join(tmpdir(), f) !== project) {
        rmSync(join(tmpdir(), f), {recursive: true, force: true});
      }
    }
    try {
      renameSync(work, project);
    } catch {
      // another test process won the race; use its copy
      rmSync(work, {recursive: true, force: true});
    }
  }
  installed = project;
  return project;
}

export async function loadReplicore() {
  const project = installedProject();
  return import(pathToFileURL(join(project, 'entry.js')).href);
}
