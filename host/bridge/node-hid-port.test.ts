/**
 * The bridge's USB HID transport (node-hid).
 *
 * This machine cannot create a virtual HID device: its kernel has neither uhid nor USB, so there
 * is no /dev/hidraw node for a token to appear on. These tests therefore drive a scripted device
 * object (test/support/scripted-hid.ts) that keeps node-hid's HIDAsync contract — `write(values)`
 * resolving with the bytes written, the report ID as the first byte as hidapi on Linux takes it,
 * 64-byte input reports without a report ID as 'data' Buffers, 'error' when unplugged, `close()` —
 * with real firmware behind it: an in-process SimToken whose transport has the HID framing.
 *
 * What that proves: the bridge's side of the contract — how NodeHidReportPort frames writes,
 * checks their length, reads reports, and turns a lost device into a coded error that ends the
 * session without a hang; that every bridge operation works over it against the real firmware;
 * how node-hid is loaded and how tokens are found by vendor/product id, usage page, path and
 * serial number. What it does not prove: that node-hid and the kernel behave as scripted (report
 * ID stripping, 'error' on unplug, the descriptor a real token presents); only a real token on a
 * machine with USB shows that (hardware-notes.md says how to check one). The last tests load the
 * REAL node-hid here (libusb-1.0-0 installed; CI installs it too), and once more with libusb hidden
 * from it in a private mount namespace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BROADCAST_CHANNEL, HID_COMMAND, HID_REPORT_BYTES, INIT_DATA_BYTES, parsePacket } from '../../protocol/framing/hid.ts';
import { HID_USAGE_PAGE, USB_PRODUCT_ID, USB_VENDOR_ID } from '../../protocol/usb.ts';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { libraryPath, runWithoutLibrary } from '../../test/support/hide-library.ts';
import {
  FAKE_HID_PATH,
  NODE_HID_MESSAGES,
  ScriptedHidBackend,
  ScriptedHidToken,
  otherHidDevice,
  type ScriptedHidDevice,
} from '../../test/support/scripted-hid.ts';
import { discover } from './discovery.ts';
import { HidMessageLink } from './hid-link.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { NodeHidReportPort, listHidTokens, loadNodeHid } from './node-hid-port.ts';
import { connectToken, enroll, readInfo, waitForPress, wipe, type ConnectedToken } from './operations.ts';

const SEED = Buffer.from('12345678901234567890'); // RFC 4226 appendix D
const SERIAL = '40000077';
const root = path.resolve(import.meta.dirname, '../..');

const tokens: ScriptedHidToken[] = [];
const connections: ConnectedToken[] = [];

function plugIn(options: ConstructorParameters<typeof ScriptedHidToken>[0] = {}): ScriptedHidToken {
  const token = new ScriptedHidToken(options);
  tokens.push(token);
  return token;
}

async function connect(address: string, backend: ScriptedHidBackend): Promise<ConnectedToken> {
  const connected = await connectToken(address, { hid: () => backend });
  connections.push(connected);
  return connected;
}

afterEach(async () => {
  for (const connected of connections.splice(0)) await connected.close().catch(() => {});
  for (const token of tokens.splice(0)) token.dispose();
});

/** Settles `promise` or fails the test after `ms`: nothing here may hang. Also says how long it took. */
async function within<T>(ms: number, promise: Promise<T>): Promise<{ outcome: PromiseSettledResult<T>; elapsedMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    Promise.allSettled([promise]).then(([settled]) => settled!),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  return { outcome, elapsedMs: performance.now() - started };
}

function rejection(outcome: PromiseSettledResult<unknown>): CodedError {
  expect(outcome.status).toBe('rejected');
  const reason = (outcome as PromiseRejectedResult).reason as unknown;
  expect(reason).toBeInstanceOf(CodedError);
  return reason as CodedError;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function expectOnlyWellFormedWrites(device: ScriptedHidDevice): void {
  expect(device.writes.length).toBeGreaterThan(0);
  for (const raw of device.writes) {
    expect(raw.length).toBe(HID_REPORT_BYTES + 1);
    expect(raw[0]).toBe(0x00);
  }
}

function handleOf(backend: ScriptedHidBackend): ScriptedHidDevice {
  expect(backend.handles).toHaveLength(1);
  return backend.handles[0]!;
}

const libusbMissing = () =>
  Object.assign(new Error('libusb-1.0.so.0: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' });

describe('NodeHidReportPort: report IDs on write', () => {
  it('writes each 64-byte report as 65 bytes: report ID 0x00, then the report unchanged', async () => {
    const backend = new ScriptedHidBackend([], [otherHidDevice({ path: '/dev/hidraw9' })]);
    const port = await NodeHidReportPort.open('/dev/hidraw9', backend);
    // One report that starts with 0x00 (a channel id whose top byte is 0): without the report ID
    // byte, Linux would take that 0 for one and send 63 bytes.
    const reports = [Uint8Array.from({ length: 64 }, (_, i) => i), Uint8Array.from({ length: 64 }, (_, i) => 0xff - i)];
    for (const report of reports) await port.write(report);
    const device = handleOf(backend);
    expect(device.writes).toHaveLength(2);
    device.writes.forEach((raw, i) => {
      expect(raw.length).toBe(65);
      expect(raw[0]).toBe(0x00);
      expect([...raw.subarray(1)]).toEqual([...reports[i]!]);
    });
    expect(device.reportsSent().map((r) => [...r])).toEqual(reports.map((r) => [...r]));
    await port.close();
    expect(device.closeCalls).toBe(1);
  });

  it('a device that takes fewer bytes than it was given fails the write with NV_LINK_FAILED', async () => {
    const backend = new ScriptedHidBackend([], [otherHidDevice({ path: '/dev/hidraw9' })]);
    const port = await NodeHidReportPort.open('/dev/hidraw9', backend);
    handleOf(backend).writeReturns = () => 64;
    const error = await port.write(new Uint8Array(64)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('NV_LINK_FAILED');
    expect((error as CodedError).message).toBe('hid:/dev/hidraw9 took 64 of 65 bytes');
    await port.close();
  });

  it('a short write in a session fails that request with the coded error at once, not a timeout', async () => {
    const token = plugIn({ serial: SERIAL });
    const backend = new ScriptedHidBackend([token]);
    const { session } = await connect(`hid:${FAKE_HID_PATH}`, backend);
    handleOf(backend).writeReturns = () => 0;
    const { outcome, elapsedMs } = await within(5000, readInfo(session));
    expect(rejection(outcome).code).toBe('NV_LINK_FAILED');
    expect(elapsedMs).toBeLessThan(800);
  });
});

describe('every bridge operation over a scripted node-hid device with real firmware behind it', () => {
  it('by path: hello, info, enroll, a press arriving as an event, wipe with the hold (keepalives counted while it waits)', async () => {
    const token = plugIn({ serial: SERIAL });
    const backend = new ScriptedHidBackend([token]);
    const connected = await connect(`hid:${FAKE_HID_PATH}`, backend);
    const { session, identity } = connected;
    expect(identity).toMatchObject({ serial: SERIAL, model: 'NV1', hardware: 'test' });
    expect(backend.opens).toEqual([FAKE_HID_PATH]);
    expect(backend.devicesAsyncCalls).toBe(0); // a path needs no listing
    expect(session.link).toBeInstanceOf(HidMessageLink);
    expect(session.link.description).toBe(`hid:${FAKE_HID_PATH}`);

    expect(await readInfo(session)).toMatchObject({ serial: SERIAL, enrolled: false });
    expect(await enroll(session, { secret: Uint8Array.from(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 })).toEqual({ counter: 0 });
    expect(await readInfo(session)).toMatchObject({ enrolled: true, mode: 'hotp', algorithm: 'sha1', digits: 6, counter: 0 });

    // The enroll request spans several reports: the INIT says more than one report's worth.
    const device = handleOf(backend);
    const messageInits = device.reportsSent().map(parsePacket).filter((p) => p?.kind === 'init' && p.command === HID_COMMAND.MESSAGE);
    expect(messageInits.some((p) => p!.kind === 'init' && p!.length > INIT_DATA_BYTES)).toBe(true);

    for (const counter of [0, 1]) {
      const pressed = await waitForPress(session, 5000, () => token.token.press());
      expect(pressed).toEqual({ code: referenceHotp(SEED, counter), counter, step: undefined, lowBattery: false });
      expect(token.token.readDisplay().trim()).toBe(pressed.code);
      token.token.advance(31_000); // the code goes off the display: the next press makes a new one
    }

    const link = session.link as HidMessageLink;
    const prompts: number[] = [];
    let keepalivesBeforeHold = -1;
    const wiping = wipe(session, (timeoutMs) => prompts.push(timeoutMs));
    await until(() => prompts.length === 1 && link.keepalives >= 3, 5000, 'the wipe prompt and three keepalives');
    keepalivesBeforeHold = link.keepalives;
    expect(token.token.readDisplay()).toMatch(/HoLd/);
    token.token.hold();
    await wiping;
    expect(prompts).toEqual([30_000]);
    expect(keepalivesBeforeHold).toBeGreaterThanOrEqual(3);
    expect(await readInfo(session)).toMatchObject({ enrolled: false, serial: SERIAL });

    expectOnlyWellFormedWrites(device);
    await connected.close();
    expect(device.closed).toBe(true);
  });

  it('by serial number: hid:<serial> finds the token among the devices listed and opens its path', async () => {
    const first = plugIn({ serial: '40000001', path: '/dev/hidraw3' });
    const second = plugIn({ serial: '40000002', path: '/dev/hidraw4' });
    const backend = new ScriptedHidBackend([first, second], [otherHidDevice({ serialNumber: '40000002', vendorId: 0x1050, path: '/dev/hidraw1' })]);
    const { session, identity } = await connect('hid:40000002', backend);
    expect(identity.serial).toBe('40000002');
    expect(backend.opens).toEqual(['/dev/hidraw4']);
    expect(session.link.description).toBe('hid:/dev/hidraw4');
    expect(await enroll(session, { secret: Uint8Array.from(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6, counter: 5 })).toEqual({ counter: 5 });
    const pressed = await waitForPress(session, 5000, () => second.token.press());
    expect(pressed.code).toBe(referenceHotp(SEED, 5));
    expectOnlyWellFormedWrites(handleOf(backend));
  });

  it('a serial number nobody has, a path that will not open, and a device that is no token: each a coded error', async () => {
    const backend = new ScriptedHidBackend([plugIn({ serial: SERIAL })], [otherHidDevice({ path: '/dev/hidraw9' })]);

    const unknown = await connectToken('hid:49999999', { hid: () => backend }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'NV_PORT_OPEN', message: 'no HID token with serial number 49999999 is plugged in' });
    expect(backend.opens).toEqual([]);

    const unopenable = await connectToken('hid:/dev/hidraw7', { hid: () => backend }).catch((e: unknown) => e);
    expect(unopenable).toMatchObject({ code: 'NV_PORT_OPEN' });
    expect((unopenable as Error).message).toContain(NODE_HID_MESSAGES.open('/dev/hidraw7'));
    expect((unopenable as Error).message).toContain('udev rule');

    const { outcome } = await within(5000, connectToken('hid:/dev/hidraw9', { hid: () => backend, timeoutMs: 200 }));
    expect(rejection(outcome).code).toBe('NV_NOT_A_TOKEN');
    const silent = backend.handles.find((d) => d.path === '/dev/hidraw9')!;
    expect(silent.closed).toBe(true);
    // What it was asked: INIT on the broadcast channel, well formed.
    expectOnlyWellFormedWrites(silent);
    expect(parsePacket(silent.reportsSent()[0]!)).toMatchObject({ kind: 'init', channel: BROADCAST_CHANNEL, command: HID_COMMAND.INIT });
  });
});

describe('a device unplugged mid-transfer', () => {
  /** Arms `device` to fault on the report after the first one of the next multi-report MESSAGE. */
  function faultInsideNextLongMessage(device: ScriptedHidDevice, fault: 'unplug' | 'fail'): { faulted: () => boolean } {
    let inMessage = false;
    let faulted = false;
    device.onWrite = (report) => {
      const packet = parsePacket(report);
      if (faulted) return undefined;
      if (packet?.kind === 'init' && packet.command === HID_COMMAND.MESSAGE && packet.length > INIT_DATA_BYTES) {
        inMessage = true;
        return undefined;
      }
      if (inMessage && packet?.kind === 'cont' && packet.sequence === 0) {
        faulted = true;
        return fault;
      }
      return undefined;
    };
    return { faulted: () => faulted };
  }

  async function expectEnded(connected: ConnectedToken, device: ScriptedHidDevice, backend: ScriptedHidBackend, token: ScriptedHidToken) {
    // The port is closed (once), later requests fail at once, and closing the session again is harmless.
    expect(device.closed).toBe(true);
    expect(device.closeCalls).toBe(1);
    const { outcome, elapsedMs } = await within(2000, readInfo(connected.session));
    expect(rejection(outcome).code).toBe('NV_LINK_CLOSED');
    expect(elapsedMs).toBeLessThan(250);
    await connected.close();
    expect(device.closeCalls).toBe(1);
    // An unplugged token is no longer listed, and reconnecting says so plainly.
    if (!token.isPlugged) {
      expect(await listHidTokens(backend)).toEqual([]);
      const again = await connectToken(`hid:${SERIAL}`, { hid: () => backend }).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: 'NV_PORT_OPEN' });
    }
  }

  it.each([
    { fault: 'unplug' as const, what: 'the cable goes during the second report of a request: the write fails, then the read side reports the loss' },
    { fault: 'fail' as const, what: 'the write of the second report of a request fails, and nothing else is heard' },
  ])('$what: the request fails with NV_LINK_CLOSED at once', async ({ fault }) => {
    const token = plugIn({ serial: SERIAL });
    const backend = new ScriptedHidBackend([token]);
    const connected = await connect(`hid:${FAKE_HID_PATH}`, backend);
    const device = handleOf(backend);
    const armed = faultInsideNextLongMessage(device, fault);
    let closedWith: Error | undefined;
    connected.session.onClose((error) => (closedWith = error));

    const { outcome, elapsedMs } = await within(5000, enroll(connected.session, { secret: Uint8Array.from(SEED), mode: 'hotp', algorithm: 'sha1', digits: 6 }));
    expect(armed.faulted()).toBe(true);
    const error = rejection(outcome);
    expect(error.code).toBe('NV_LINK_CLOSED');
    expect(error.message).toContain(`hid:${FAKE_HID_PATH} went away`);
    expect(elapsedMs).toBeLessThan(800); // not the 3 s enroll timeout
    expect(closedWith).toMatchObject({ code: 'NV_LINK_CLOSED' });
    // The token saw the first report only: half a message, which it drops; it was never enrolled.
    await expectEnded(connected, device, backend, token);
  });

  it('unplugged in the middle of a multi-report reply: the request fails with NV_LINK_CLOSED at once', async () => {
    const token = plugIn({ serial: SERIAL });
    const backend = new ScriptedHidBackend([token]);
    const connected = await connect(`hid:${FAKE_HID_PATH}`, backend);
    const device = handleOf(backend);
    const before = token.reportsOut;
    token.unplugAfterReports(1);
    const { outcome, elapsedMs } = await within(5000, readInfo(connected.session));
    expect(token.reportsOut - before).toBeGreaterThan(1); // the token sent a reply of several reports; the host got the first
    expect(rejection(outcome).code).toBe('NV_LINK_CLOSED');
    expect(elapsedMs).toBeLessThan(800); // not the 1 s × 3 tries of info
    await expectEnded(connected, device, backend, token);
  });

  it('unplugged while the token waits for its button (keepalives flowing): the wipe fails at once, not after its 2-minute wait', async () => {
    const token = plugIn({ serial: SERIAL });
    const backend = new ScriptedHidBackend([token]);
    const connected = await connect(`hid:${FAKE_HID_PATH}`, backend);
    const device = handleOf(backend);
    const link = connected.session.link as HidMessageLink;
    const wiping = wipe(connected.session, () => {});
    await until(() => link.keepalives >= 2, 5000, 'keepalives');
    token.unplug();
    const { outcome, elapsedMs } = await within(5000, wiping);
    expect(rejection(outcome).code).toBe('NV_LINK_CLOSED');
    expect(elapsedMs).toBeLessThan(800);
    await expectEnded(connected, device, backend, token);
  });
});

describe('loadNodeHid: node-hid only when asked for, and one coded line when it cannot load', () => {
  it('a missing libusb: NV_HID_UNAVAILABLE naming the Debian package libusb-1.0-0', () => {
    let error: unknown;
    try {
      loadNodeHid(() => {
        throw libusbMissing();
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('NV_HID_UNAVAILABLE');
    expect((error as CodedError).message).toContain('install the Debian package libusb-1.0-0');
    expect((error as CodedError).message).toContain('libusb-1.0.so.0: cannot open shared object file');
    expect((error as CodedError).message).not.toContain('\n');
  });

  it('a missing libusb found only when node-hid loads its native library (on first use, as node-hid 3 does): still NV_HID_UNAVAILABLE from loadNodeHid', async () => {
    // node-hid's require succeeds without libusb; its binding loads on the first call.
    const lazyModule = () => ({
      getHidapiVersion: () => {
        throw libusbMissing();
      },
      devicesAsync: async () => {
        throw libusbMissing();
      },
      HIDAsync: {
        open: async () => {
          throw libusbMissing();
        },
      },
    });
    expect(() => loadNodeHid(lazyModule)).toThrow(expect.objectContaining({ code: 'NV_HID_UNAVAILABLE' }));
    for (const address of ['hid:/dev/hidraw0', `hid:${SERIAL}`]) {
      const error = await connectToken(address, { hid: () => loadNodeHid(lazyModule) }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NV_HID_UNAVAILABLE', message: expect.stringContaining('libusb-1.0-0') });
    }
  });

  it('node-hid not installed: NV_HID_UNAVAILABLE naming the npm package; anything else: rebuild it', () => {
    const missing = Object.assign(new Error(`Cannot find module 'node-hid'\nRequire stack:\n- ${root}/host/bridge/node-hid-port.ts`), { code: 'MODULE_NOT_FOUND' });
    expect(() =>
      loadNodeHid(() => {
        throw missing;
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'NV_HID_UNAVAILABLE',
        message: "node-hid cannot be loaded (Cannot find module 'node-hid'): install the npm package node-hid",
      }),
    );
    expect(() =>
      loadNodeHid(() => {
        throw new Error('Module did not self-register');
      }),
    ).toThrow(expect.objectContaining({ code: 'NV_HID_UNAVAILABLE', message: expect.stringContaining('npm rebuild node-hid') }));
  });

  it('is not called for a serial or UDP address (node-hid is loaded only when a HID token is asked for)', async () => {
    let loads = 0;
    const hid = () => {
      loads++;
      return new ScriptedHidBackend();
    };
    await connectToken('/dev/nonexistent-serial-port', { hid }).catch(() => {});
    await connectToken('hid+udp://127.0.0.1:9', { hid, timeoutMs: 100 }).catch(() => {});
    expect(loads).toBe(0);
  });
});

describe('finding HID tokens', () => {
  it('listHidTokens keeps devices with the token vendor and product id on its usage page (or with none reported)', async () => {
    const token = plugIn({ serial: SERIAL });
    const others = [
      otherHidDevice({ path: '/dev/hidraw1', vendorId: 0x1050, productId: USB_PRODUCT_ID }), // another vendor
      otherHidDevice({ path: '/dev/hidraw2', vendorId: USB_VENDOR_ID, productId: 0x5bf0 }), // another pid.codes product
      otherHidDevice({ path: '/dev/hidraw5', vendorId: USB_VENDOR_ID, productId: USB_PRODUCT_ID, usagePage: 0xf1d0, serialNumber: SERIAL }), // a FIDO interface
      otherHidDevice({ path: '/dev/hidraw6', vendorId: USB_VENDOR_ID, productId: USB_PRODUCT_ID, usagePage: undefined, serialNumber: '40000078' }), // no usage page reported
    ];
    const listed = await listHidTokens(new ScriptedHidBackend([token], others));
    expect(listed.map((d) => d.path)).toEqual(['/dev/hidraw6', FAKE_HID_PATH]);
    expect(listed[1]).toMatchObject({ vendorId: USB_VENDOR_ID, productId: USB_PRODUCT_ID, usagePage: HID_USAGE_PAGE, serialNumber: SERIAL });
  });

  it('discover lists the scripted token as kind hid with port hid:<path>; a backend that throws is a warning, not a failure', async () => {
    const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nv-hid-discover-'));
    try {
      const token = plugIn({ serial: SERIAL });
      const found = await discover(runtimeDir, () => new ScriptedHidBackend([token], [otherHidDevice({})]));
      expect(found.ports.filter((p) => p.kind === 'hid')).toEqual([
        { kind: 'hid', port: `hid:${FAKE_HID_PATH}`, serial: SERIAL, description: 'noegleviser NV1' },
      ]);
      expect(found.warnings.filter((w) => w.startsWith('HID'))).toEqual([]);

      const noLibusb = await discover(runtimeDir, () =>
        loadNodeHid(() => {
          throw libusbMissing();
        }),
      );
      expect(noLibusb.ports.filter((p) => p.kind === 'hid')).toEqual([]);
      expect(noLibusb.warnings).toContainEqual(expect.stringMatching(/^HID tokens could not be listed: .*install the Debian package libusb-1\.0-0$/));

      const failing = new ScriptedHidBackend();
      failing.devicesAsync = async () => {
        throw new Error('hid_enumerate failed');
      };
      const listingFails = await discover(runtimeDir, () => failing);
      expect(listingFails.warnings).toContain('HID tokens could not be listed: hid_enumerate failed');
    } finally {
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    }
  });
});

describe('the real node-hid on this machine', () => {
  it('loads (libusb-1.0-0 is installed here and in CI), loads its native library at once, and lists no noegleviser token', async (context) => {
    let backend;
    try {
      backend = loadNodeHid();
    } catch (error) {
      const message = (error as Error).message;
      if (process.env.CI === 'true') throw new Error(`${message} (CI installs libusb-1.0-0: there node-hid must load)`);
      return context.skip(`skipped on this machine: ${message}; in CI (CI=true) this fails instead`);
    }
    if (process.platform === 'linux') {
      // loadNodeHid itself loaded the binding (a missing libusb would have shown there, not later).
      const maps = fs.readFileSync('/proc/self/maps', 'utf8');
      expect(maps).toMatch(/node-hid\/\S+\.node$/m);
    }
    const devices = await backend.devicesAsync();
    expect(Array.isArray(devices)).toBe(true);
    expect(await listHidTokens(backend)).toEqual([]);
  });

  it('with libusb hidden (a private mount namespace): the real node-hid fails once, coded, naming libusb-1.0-0', (context) => {
    if (process.platform !== 'linux') return context.skip('needs Linux mount namespaces');
    const libusb = libraryPath('libusb-1.0.so.0');
    if (!libusb) return context.skip('libusb-1.0.so.0 is not installed, so there is nothing to hide');
    const run = runWithoutLibrary(path.dirname(libusb), 'libusb-1.0', [process.execPath, '--import', 'tsx', 'test/support/node-hid-probe.ts', os.tmpdir()], {
      cwd: root,
      timeoutMs: 30_000,
    });
    // Unprivileged user namespaces are off on some machines (also some CI runners): then say so.
    if (!run.ran) return context.skip(`cannot hide libusb here: ${run.why}`);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    const coded = { ok: false, code: 'NV_HID_UNAVAILABLE', message: expect.stringMatching(/libusb-1\.0\.so\.0.*: install the Debian package libusb-1\.0-0$/) };
    expect(result.load).toEqual(coded);
    expect(result.byPath).toEqual(coded);
    expect(result.bySerial).toEqual(coded);
    expect(result.hidWarnings).toEqual([expect.stringContaining('install the Debian package libusb-1.0-0')]);
  });
});
