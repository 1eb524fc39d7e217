/**
 * WCAG checks in real Chromium: axe-core (through @axe-core/playwright) with the WCAG 2.0, 2.1 and
 * 2.2 A and AA rules, none disabled, over a page and every frame in it. `axeViolations` returns each
 * violation as one line naming the rule, the selector of each node it found and what to fix, so a
 * failing test prints where to look.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/** The tags the issue asks for: WCAG 2.2 AA is these four together (2.0 A and AA, 2.1 AA, 2.2 AA). */
export const WCAG_TAGS: readonly string[] = ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa'];

/** One node axe found, as one line: `rule-id (impact) at selector: what to fix`. */
export type ViolationLine = string;

/** Runs axe over `page` (its frames included) and returns one line per node in violation; none is `[]`. */
export async function axeViolations(page: Page): Promise<ViolationLine[]> {
  const results = await new AxeBuilder({ page }).withTags([...WCAG_TAGS]).analyze();
  return results.violations.flatMap((violation) =>
    violation.nodes.map((node) => {
      const target = node.target.map((part) => (Array.isArray(part) ? part.join(' >> ') : String(part))).join(' >> ');
      const summary = (node.failureSummary ?? violation.help).replace(/\s+/g, ' ').trim();
      return `${violation.id} (${violation.impact ?? 'n/a'}) at ${target}: ${summary}`;
    }),
  );
}
