/**
 * Debian packages some test files need (oathtool, chromium, postgresql): where one is missing the
 * file is skipped with a message, except in CI (CI=true), where the missing package is a failing test.
 */
import { it } from 'vitest';
import { IN_CI } from './processes.ts';

/**
 * Call at the top level of a test file, beside `describe.skipIf(missing !== '')`: `missing` says
 * what is missing and how to install it (empty when nothing is), `requirement` names it for the
 * failing test in CI, `skipped` says what is skipped without it.
 */
export function reportMissingPackage(missing: string, requirement: string, skipped: string): void {
  if (missing === '') return;
  if (IN_CI) {
    it(`${requirement} (CI requires it)`, () => {
      throw new Error(missing);
    });
  } else {
    console.warn(`SKIPPED: ${missing}: ${skipped}`);
    // Skipped as it runs, not when collected: a file whose every test is skipped at collection
    // runs no afterAll hooks, not even the setup's that removes the file's temporary folder.
    it(`${requirement} (skipped without it)`, (context) => context.skip(missing));
  }
}
