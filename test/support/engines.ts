/**
 * The engines the end-to-end suites run the emulator's firmware core on: V8 in the emulator's own
 * process, and the firmware bundle inside QuickJS-NG (`device emulate --engine quickjs`). Suites
 * take these with describe.each; the README names which suites run on QuickJS.
 */
import type { EngineName } from '../../device/targets/engines.ts';

export interface EngineRun {
  readonly engine: EngineName;
  /** What `device emulate` is given for it. */
  readonly args: readonly string[];
}

export const ENGINE_RUNS: readonly EngineRun[] = [
  { engine: 'v8', args: [] },
  { engine: 'quickjs', args: ['--engine', 'quickjs'] },
];
