/**
 * Ends a test run with one plain line, `N passed, N failed, N skipped`, counting test cases (a
 * skipped test is never counted as passed). Files that failed to load, or failed outside their
 * tests (an afterAll hook, the leftover check of leftover-check.setup.ts), count as failed, and
 * so does a run that left something in its temporary folder (listed above the line).
 */
import type { Reporter, TestModule } from 'vitest/node';
import { LEFTOVERS_REPORTED_VARIABLE, RUN_TMPDIR_VARIABLE, leftoversIn } from './private-tmpdir.ts';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      if (module.state() === 'failed' && tests.every((test) => test.result().state !== 'failed')) failed++;
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const runDir = process.env[RUN_TMPDIR_VARIABLE];
    const left = runDir ? leftoversIn(runDir) : [];
    if (left.length > 0) {
      failed++;
      process.exitCode = 1;
      process.env[LEFTOVERS_REPORTED_VARIABLE] = '1';
      process.stdout.write(`\nThe tests left these in their temporary folder (removed at teardown):\n${left.join('\n')}\n`);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
