/**
 * Run as a child process (`node --import tsx test/support/node-hid-probe.ts RUNTIME_DIR`): loads the
 * REAL node-hid the way the bridge does and prints, as one JSON line, what `loadNodeHid`, a
 * `hid:` connection and `discover` each came to. Tests run it where a system library is hidden.
 */
import { discover } from '../../host/bridge/discovery.ts';
import { loadNodeHid } from '../../host/bridge/node-hid-port.ts';
import { connectToken } from '../../host/bridge/operations.ts';

interface Outcome {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    await run();
    return { ok: true };
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code, message: (error as Error).message };
  }
}

const runtimeDir = process.argv[2] ?? '/nonexistent';
const load = await outcome(() => loadNodeHid());
const byPath = await outcome(() => connectToken('hid:/dev/hidraw-probe', { timeoutMs: 200 }));
const bySerial = await outcome(() => connectToken('hid:40000077', { timeoutMs: 200 }));
const found = await discover(runtimeDir);
process.stdout.write(`${JSON.stringify({ load, byPath, bySerial, hidWarnings: found.warnings.filter((w) => w.startsWith('HID')) })}\n`);
