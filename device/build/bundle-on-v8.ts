/**
 * The firmware bundle in a V8 context of its own (node:vm): the same script and binding as in
 * QuickJS, on the other engine. The reference the QuickJS runs are compared with (tests) and
 * timed beside (bench); a host written in JavaScript hands the bundle `hostFromHal` directly.
 */
import vm from 'node:vm';
import { FIRMWARE_GLOBAL, HOST_GLOBAL, bootConfig, hostFromHal, type FirmwareEntry } from '../targets/engine/binding.ts';
import type { CoreFactory, FirmwareCore } from '../sim/sim-token.ts';

/** A core factory running `code` (a firmware bundle) in a fresh V8 context at every power-on. */
export function bundleOnV8(code: string): CoreFactory {
  const script = new vm.Script(code, { filename: 'noegleviser-firmware.js' });
  return (hal, config): FirmwareCore => {
    const context = vm.createContext({ [HOST_GLOBAL]: hostFromHal(hal) });
    script.runInContext(context);
    const entry = context[FIRMWARE_GLOBAL] as FirmwareEntry;
    const core = {
      serialNumber: '',
      boot: () => void (core.serialNumber = entry.boot(bootConfig(hal, config))),
      input: (event) => {
        if (event.type === 'button') entry.button(event.pressed);
        else if (event.type === 'received') entry.received(event.link, event.bytes.slice().buffer);
        else entry.tick();
      },
    } satisfies FirmwareCore;
    return core;
  };
}
