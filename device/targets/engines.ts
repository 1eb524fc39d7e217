/**
 * Where a target runs the firmware core: `v8`, in this process (the firmware's own classes), or
 * `quickjs`, the firmware bundle inside QuickJS-NG (device/targets/quickjs), as on a chip that
 * runs JavaScript. Everything else about the target (its flash, clocks, ports) is the same.
 */
import type { EngineState } from '../../protocol/debug/messages.ts';
import type { CoreFactory } from '../sim/sim-token.ts';

export const ENGINES = ['v8', 'quickjs'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface FirmwareEngine {
  readonly name: string;
  /** Makes the firmware at every power-on. */
  readonly createCore: CoreFactory;
  /** The engine as the debug link's `state` shows it (a QuickJS engine adds its memory report). */
  describe(): EngineState;
}

/** One token's engine: a QuickJS engine keeps that token's memory figures. */
export async function loadEngine(name: EngineName): Promise<FirmwareEngine> {
  if (name === 'quickjs') {
    const { QuickJsEngine } = await import('./quickjs/quickjs-engine.ts');
    return QuickJsEngine.load();
  }
  const { inProcessCore } = await import('../sim/sim-token.ts');
  return { name: 'v8', createCore: inProcessCore, describe: () => ({ name: 'v8', version: process.versions.v8 }) };
}
