/**
 * The firmware on an embedded engine: the bundle's size and its bytecode's, its memory in QuickJS-NG
 * (loaded as stripped bytecode, as a board loads it) by QuickJS's own report (after boot, at its peak over 10,000 presses, after a full collection), the smallest
 * stack it runs in, and its speed inside QuickJS beside the same bundle on V8 (a node:vm context).
 */
import path from 'node:path';
import vm from 'node:vm';
import { QuickJS } from 'quickjs-wasi';
import { ROOT, buildFirmwareBundle, firmwareBundle } from '../../device/build/firmware-bundle.ts';
import { bundleOnV8 } from '../../device/build/bundle-on-v8.ts';
import type { CoreFactory } from '../../device/sim/sim-token.ts';
import type { Transport } from '../../device/hal/transport.ts';
import { compileToBytecode, quickJsWasm } from '../../device/targets/quickjs/quickjs-bytecode.ts';
import { EngineFault, QUICKJS_BUDGET, QUICKJS_STACK_LIMIT, QuickJsEngine, type CodeBreakdown } from '../../device/targets/quickjs/quickjs-engine.ts';
import { createRig } from '../../test/support/rig.ts';
import { median, rate, times, type Row } from '../table.ts';

const KIB = 1024;
const kib = (bytes: number) => `${(bytes / KIB).toFixed(1)} KiB`;
const SEED_HEX = '3132333435363738393031323334353637383930';
const PRESSES = 10_000;

function enrolledRig(core: CoreFactory) {
  const rig = createRig({ core });
  rig.ok('enroll', { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' });
  rig.token.advance(5000);
  return rig;
}

/** What loading `code` from source (QuickJS compiling it, and keeping its text) adds to an empty context. */
async function loadedFromSource(code: string): Promise<number> {
  const quickjsVm = await QuickJS.create({ wasm: await quickJsWasm() });
  try {
    quickjsVm.runGC();
    const empty = quickjsVm.getMemoryUsage().memoryUsedSize;
    quickjsVm.evalCode(code).dispose();
    quickjsVm.runGC();
    return quickjsVm.getMemoryUsage().memoryUsedSize - empty;
  } finally {
    quickjsVm.dispose();
  }
}

const parts = (code: CodeBreakdown) =>
  Object.entries(code)
    .map(([part, bytes]) => `${part} ${kib(bytes)}`)
    .join(', ');

/** Presses (each a new code through the whole firmware) per second, and the codes made. */
function pressesPerSecond(core: CoreFactory, presses: number): { perSecond: number; codes: string[] } {
  const rig = enrolledRig(core);
  const codes: string[] = [];
  const started = performance.now();
  for (let i = 0; i < presses; i++) {
    const { event } = rig.press();
    codes.push(String(event?.fields.code));
    rig.token.advance(31_000);
  }
  return { perSecond: presses / ((performance.now() - started) / 1000), codes };
}

/** The smallest stack limit (whole KiB) a session with the heaviest algorithm runs in. */
async function smallestStack(): Promise<number> {
  const runs = async (bytes: number) => {
    const engine = await QuickJsEngine.load({ stackLimitBytes: bytes, trackPeak: false });
    try {
      const rig = createRig({ core: engine.createCore });
      rig.ok('enroll', { secret: 'ab'.repeat(64), mode: 'hotp', algorithm: 'sha512', digits: '8' });
      for (let i = 0; i < 3; i++) {
        rig.press();
        rig.token.advance(31_000);
      }
      rig.ok('info');
      rig.send('wipe');
      rig.token.hold();
      return rig.token.poweredOn;
    } catch (error) {
      if (error instanceof EngineFault) return false;
      throw error;
    }
  };
  let low = 1;
  let high = 64;
  if (!(await runs(high * KIB))) throw new Error('the firmware does not run within 64 KiB of stack');
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await runs(middle * KIB)) high = middle;
    else low = middle + 1;
  }
  return high;
}

/** HOTP codes per second of the bundle's OATH engine alone, inside QuickJS-NG and in a V8 context. */
async function oathRates(): Promise<{ quickjs: number; v8: number }> {
  const { code } = await buildFirmwareBundle({ entry: path.join(ROOT, 'bench', 'oath-bundle-entry.ts') });
  const quickjsVm = await QuickJS.create({ wasm: await quickJsWasm() });
  quickjsVm.evalBytecode((await compileToBytecode(code)).bytes).dispose();
  const sandbox = vm.createContext({});
  vm.runInContext(code, sandbox);
  const inQuickJs = (expression: string) => quickjsVm.evalCode(expression).consume((result) => result.toString());
  const onV8 = (expression: string) => String(vm.runInContext(expression, sandbox));
  if (inQuickJs('nvOathCodes(20)') !== onV8('nvOathCodes(20)') || !onV8('nvOathCodes(1)').startsWith('755224')) {
    throw new Error('the OATH engine gives other codes in QuickJS than on V8');
  }
  const timed = (run: (expression: string) => string, codes: number) => {
    const perRun: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      run(`String(nvOathBench(${codes}))`);
      perRun.push(codes / ((performance.now() - started) / 1000));
    }
    return median(perRun);
  };
  const quickjs = timed(inQuickJs, 2000);
  const v8 = timed(onV8, 200_000);
  quickjsVm.dispose();
  return { quickjs, v8 };
}

/** The emulator's second host link, as the memory-budget test gives it: HID reports, dropped here. */
const hidLink = (): Transport => ({ framing: 'hid', send: () => undefined });

export async function embeddedEngineRows(): Promise<Row[]> {
  const bundle = await firmwareBundle();
  const fast = await buildFirmwareBundle({ compactOath: false });
  const withFastOath = await QuickJsEngine.load({ code: fast.code, trackPeak: false });
  createRig({ core: withFastOath.createCore, links: [hidLink()] });
  const fastShare = withFastOath.memory()!.bootedBytes - withFastOath.memory()!.emptyContextBytes;
  const fullNames = await buildFirmwareBundle({ shortNames: false });
  const withFullNames = await QuickJsEngine.load({ code: fullNames.code, trackPeak: false });
  createRig({ core: withFullNames.createCore, links: [hidLink()] });
  const fullNamesCode = withFullNames.memory()!.loadedBytes - withFullNames.memory()!.emptyContextBytes;
  const engine = await QuickJsEngine.load();
  const rig = createRig({ core: engine.createCore, links: [hidLink()] });
  engine.collectGarbage();
  const booted = engine.memory()!;
  const code = engine.codeBreakdown()!;
  const fromSource = await loadedFromSource(bundle.code);
  rig.ok('enroll', { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' });
  rig.token.advance(5000);
  let firstThousand = 0;
  for (let i = 1; i <= PRESSES; i++) {
    rig.press();
    rig.token.advance(31_000);
    if (i % 1000 === 0) {
      rig.token.power.percent = 100;
      engine.collectGarbage();
      firstThousand ||= engine.memory()!.usedBytes;
    }
  }
  const after = engine.memory()!;
  const growth = after.usedBytes - firstThousand;
  const share = (bytes: number) => bytes - booted.emptyContextBytes;
  const stack = await smallestStack();
  const quickjsPresses = pressesPerSecond(engine.createCore, 300);
  const v8Presses = pressesPerSecond(bundleOnV8(bundle.code), 3000);
  if (quickjsPresses.codes.join() !== v8Presses.codes.slice(0, 300).join()) throw new Error('the bundle shows other codes in QuickJS than on V8');
  const oath = await oathRates();
  return [
    {
      figure: 'firmware bundle for an embedded engine (one ES2022 script, minified)',
      ours: `${bundle.bytes.toLocaleString('en-US')} B, ${bundle.gzipBytes.toLocaleString('en-US')} B gzipped; ${engine.bytecodeBytes.toLocaleString('en-US')} B as stripped QuickJS bytecode`,
      reference: `${fast.bytes.toLocaleString('en-US')} B, ${fast.gzipBytes.toLocaleString('en-US')} B gzipped with the fast OATH engine (V8's)`,
      ratio: times(bundle.bytes / fast.bytes),
      goal: '—',
      met: undefined,
    },
    {
      figure: "QuickJS-NG: the firmware's share after boot (memory_used_size − an empty context's; a line link and a HID link, as the emulator runs it)",
      ours: `${kib(share(booted.bootedBytes))} (code ${kib(booted.loadedBytes - booted.emptyContextBytes)}, data ${kib(booted.bootedBytes - booted.loadedBytes)})`,
      reference: `${kib(booted.emptyContextBytes)} an empty context; ${kib(fastShare)} with the fast OATH engine`,
      ratio: '—',
      goal: `≤ ${kib(QUICKJS_BUDGET.bootedShare)}`,
      met: share(booted.bootedBytes) <= QUICKJS_BUDGET.bootedShare,
    },
    {
      figure: "QuickJS-NG: the firmware's code (the loaded bytecode), part by part as the memory report counts it",
      ours: `${kib(booted.loadedBytes - booted.emptyContextBytes)}: ${parts(code)}`,
      reference: `${kib(fromSource)} compiled from source (QuickJS keeps the text); ${kib(fullNamesCode)} with the internal names unshortened`,
      ratio: times((booted.loadedBytes - booted.emptyContextBytes) / fromSource),
      goal: '—',
      met: undefined,
    },
    {
      figure: `QuickJS-NG: its peak over ${PRESSES.toLocaleString('en-US')} presses`,
      ours: `${kib(share(after.peakBytes))} (data ${kib(after.peakBytes - after.loadedBytes)})`,
      reference: '—',
      ratio: '—',
      goal: `≤ ${kib(QUICKJS_BUDGET.peakShare)}`,
      met: share(after.peakBytes) <= QUICKJS_BUDGET.peakShare,
    },
    {
      figure: 'QuickJS-NG: growth after a full collection, from the 1,000th press to the 10,000th',
      ours: `${growth} B`,
      reference: '—',
      ratio: '—',
      goal: 'none',
      met: growth <= 0,
    },
    {
      figure: "QuickJS-NG: the smallest stack limit the firmware runs in (HMAC-SHA-512 enrolment, presses, wipe; WebAssembly's stack, see README)",
      ours: `${stack} KiB`,
      reference: '—',
      ratio: '—',
      goal: `≤ ${QUICKJS_STACK_LIMIT / KIB} KiB`,
      met: stack * KIB <= QUICKJS_STACK_LIMIT,
    },
    {
      figure: 'codes/s through the firmware in QuickJS-NG (a press each: debounce, counter to flash, display, event)',
      ours: rate(quickjsPresses.perSecond, 'codes/s'),
      reference: `${rate(v8Presses.perSecond, 'codes/s')} the same bundle on V8`,
      ratio: times(quickjsPresses.perSecond / v8Presses.perSecond),
      goal: '—',
      met: undefined,
    },
    {
      figure: "HOTP codes/s of the bundle's OATH engine inside QuickJS-NG (SHA-1, 6 digits)",
      ours: rate(oath.quickjs, 'codes/s'),
      reference: `${rate(oath.v8, 'codes/s')} the same bundle on V8`,
      ratio: times(oath.quickjs / oath.v8),
      goal: '—',
      met: undefined,
    },
  ];
}
