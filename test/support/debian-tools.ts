/**
 * A Debian tool a test file needs: present, or the file's tests that need it are skipped with a
 * message; in CI (CI=true) a missing tool is a failing test instead, as in test/interop/oathtool.test.ts.
 */
import { it } from 'vitest';
import { IN_CI, toolAvailable } from './processes.ts';

export function debianTool(tool: string, aptPackage: string, what: string): boolean {
  if (toolAvailable(tool)) return true;
  const message = `${tool} is not installed (apt-get install ${aptPackage}): ${what} is skipped`;
  if (IN_CI) {
    it(`${tool} is installed (CI requires it)`, () => {
      throw new Error(message);
    });
  } else {
    console.warn(`SKIPPED: ${message}`);
  }
  return false;
}
