// The whole test suite: runs every suite in its own process, then prints the one line CI reads,
// `N passed, N failed, N skipped`, summed over all suites, and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

/** Each suite: a name, and the folders under test/ whose *.test.ts files it runs. */
const suites = [
  { name: 'unit and engine', dirs: ['test/unit', 'test/engine', 'test/trainer'] },
  { name: 'python', dirs: ['test/python'] },
  { name: 'webview (headless chromium)', dirs: ['test/webview'] },
  { name: 'end-to-end (code-server)', dirs: ['test/e2e', 'test/electron'] },
];

function testFiles(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(dir, f));
}

const total = { passed: 0, failed: 0, skipped: 0 };
// First the guards of docs/architecture.md: ESLint (import boundaries, cycles, no any) and
// Prettier's check, one test each (`npm run lint` runs the same).
if (only.length === 0 || only.some((o) => 'lint'.includes(o))) {
  console.log('\n=== lint ===');
  const lintArgs = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.lint.split(' && ');
  for (const command of lintArgs) {
    const res = spawnSync(command, {
      cwd: root,
      stdio: 'inherit',
      shell: true,
      env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` },
    });
    const ok = res.status === 0;
    console.log(`  ${ok ? '✔' : '✖'} ${command.split(' ')[0]}`);
    if (ok) total.passed += 1;
    else total.failed += 1;
  }
}
const statsDir = mkdtempSync(join(tmpdir(), 'cnnslicer-tests-'));
for (const suite of suites) {
  if (only.length > 0 && !only.some((o) => suite.name.includes(o))) continue;
  const files = suite.dirs.flatMap(testFiles);
  if (files.length === 0) continue;
  console.log(`\n=== ${suite.name} ===`);
  const statsFile = join(statsDir, `${suites.indexOf(suite)}.json`);
  const res = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/mocha/bin/mocha.js'),
      '--require',
      'tsx/cjs',
      '--reporter',
      join(root, 'test/support/countingReporter.cjs'),
      '--timeout',
      '120000',
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, CNNSLICER_TEST_STATS: statsFile } },
  );
  if (existsSync(statsFile)) {
    const counts = JSON.parse(readFileSync(statsFile, 'utf8'));
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
    // A suite that crashed after counting still failed.
    if (res.status !== 0 && counts.failed === 0) total.failed += 1;
  } else {
    // The suite died before mocha finished (a syntax error, a crash): that is a failure.
    console.log(`suite "${suite.name}" ended without reporting counts (exit status ${res.status}, signal ${res.signal})`);
    total.failed += 1;
  }
}
rmSync(statsDir, { recursive: true, force: true });
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0);
