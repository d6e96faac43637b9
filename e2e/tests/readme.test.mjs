// The README's curl tour, run verbatim (only the base URL changes to the test's port) against a fresh
// `doorstep demo` at its default speed with its simulated fleet: the ride must reach `completed`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startDemo, ROOT } from '../lib.mjs';

let demo;

before(async () => {
  demo = await startDemo({ speed: 1 });
});

after(async () => {
  if (demo) await demo.stop();
});

/** The shell block under the README's "A ride with curl" heading. */
function tour() {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A ride with curl'));
  const m = section.match(/```sh\n([\s\S]*?)```/);
  assert.ok(m, 'the README has a curl tour');
  return m[1];
}

test("the README's curl tour completes a ride against a fresh doorstep demo", () => {
  const script = tour();
  assert.match(script, /^B=http:\/\/127\.0\.0\.1:8080$/m, 'the tour starts by naming the server');
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script.replace(/^B=.*$/m, `B=${demo.base}`)], {
    encoding: 'utf8',
    timeout: 120000,
  });
  const out = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `the tour failed:\n${out}`);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'completed', `the ride did not complete:\n${out}`);
  // Every step answered with its resource, not an error body.
  assert.doesNotMatch(run.stdout, /"code":"/, `a step answered an error:\n${out}`);
});
