/**
 * The firmware as one script for an embedded engine: the firmware core, the protocol codecs and
 * the OATH engine behind the binding of device/targets/engine, bundled by esbuild into an IIFE
 * for ES2022 that assigns the global `nvFirmware` and uses nothing of Node or of V8. The OATH
 * engine's speed-for-size parts (the unrolled SHA-1, @noble/hashes, the digit table) are swapped
 * for protocol/oath/engines-compact.ts, which gives the same answers in a fraction of the memory,
 * ProtocolError for protocol/errors-compact.ts's (the same error without the codes' descriptions),
 * and the firmware's internal property names are shortened (INTERNAL_PROPERTIES): an engine like
 * QuickJS keeps every name as an atom and every function's source text in RAM.
 *
 * Built in memory when a target needs it (once per process), and to dist/firmware by
 * `npm run build:firmware`.
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'esbuild';
import { CodedError } from '../../protocol/coded-error.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const FIRMWARE_ENTRY = path.join(ROOT, 'device', 'targets', 'engine', 'entry.ts');

export interface FirmwareBundle {
  readonly code: string;
  /** UTF-8 bytes of the script, and gzipped (level 9). */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Source files in the bundle, relative to the project root. */
  readonly inputs: readonly string[];
}

/** The OATH engine's fast parts (protocol/oath/engines.ts) become the compact ones. */
const compactOathEngine: Plugin = {
  name: 'compact-oath-engine',
  setup(build) {
    build.onResolve({ filter: /^\.\/engines\.ts$/ }, (args) =>
      path.basename(args.importer) === 'index.ts' && path.basename(args.resolveDir) === 'oath'
        ? { path: path.join(args.resolveDir, 'engines-compact.ts') }
        : undefined,
    );
  },
};

/** protocol/errors.ts becomes protocol/errors-compact.ts: ProtocolError without the codes' descriptions. */
const compactErrors: Plugin = {
  name: 'compact-errors',
  setup(build) {
    const errors = path.join(ROOT, 'protocol', 'errors.ts');
    build.onResolve({ filter: /\/errors\.ts$/ }, (args) =>
      path.resolve(args.resolveDir, args.path) === errors && path.basename(args.importer) !== 'errors-compact.ts'
        ? { path: path.join(ROOT, 'protocol', 'errors-compact.ts') }
        : undefined,
    );
  },
};

/**
 * Property names that never leave the bundle, which esbuild renames to one or two letters in the
 * firmware bundle (its `mangleProps`): methods and fields of the firmware's classes and of the
 * objects the bundle builds for itself (the HAL over the host's functions, the flash journal's
 * records, the links' state). Each costs QuickJS an atom and its length in every function's
 * source text that mentions it; shortening them takes about 11 KiB off the loaded bundle (README,
 * "The firmware on a chip's engine"). A name is listed only when nothing outside the bundle reads
 * or writes it by name: not the wire's keys (commands, fields, error codes), not the binding's
 * (nvHost, nvFirmware, the boot configuration and its timings), not a built-in's. The QuickJS
 * session test (device/targets/quickjs/quickjs-engine.test.ts) fails when one is.
 */
export const INTERNAL_PROPERTIES: readonly string[] = [
  // protocol/oath/engines-compact.ts
  'truncatedValue', 'destroy',
  // protocol/framing/hid.ts, device/firmware/hid-link.ts, line-link.ts
  'busyChannel', 'expire', 'receive', 'broadcast', 'lastPacketAt', 'nextSequence',
  'channels', 'handlers', 'waiting', 'onRequest', 'overflowed', 'onOverflow', 'onLine',
  // device/firmware/flash-store.ts, records.ts
  'geometry', 'put', 'retainOnly', 'writeOffset', 'liveRecords', 'pageStates',
  // device/firmware/token.ts and the HAL as binding.ts builds it
  'firmwareVersion', 'enrolment', 'settings', 'initialCounter', 'lowBattery', 'serialNumber', 'requestId',
  'commit', 'endConfirm', 'sendEvent', 'bootedAt', 'draining', 'buttonLevel', 'holdFired', 'doublePress',
  'lastPressAt', 'eventSeq', 'rng', 'rtc', 'transports', 'show', 'display', 'wakeAt', 'isPressed', 'spend', 'say', 'speaker', 'program', 'erase',
  'hal', 'store', 'record', 'queue', 'timers', 'config', 'power', 'link', 'active', 'sequence', 'input',
  'fields', 'seq', 'payload', 'channel', 'command', 'framing', 'words', 'pressed', 'type', 'text',
];

export interface BundleOptions {
  readonly entry?: string;
  readonly minify?: boolean;
  /** The OATH engine's compact parts (default); false keeps the fast ones, as V8 and the server run them. */
  readonly compactOath?: boolean;
  /** Shorten INTERNAL_PROPERTIES (default); false keeps every name as written. */
  readonly shortNames?: boolean;
}

export async function buildFirmwareBundle(options: BundleOptions = {}): Promise<FirmwareBundle> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new CodedError('NV_FIRMWARE_BUNDLE', 'esbuild builds the firmware bundle and is not installed (it is a devDependency: npm install)');
  }
  const result = await esbuild
    .build({
      entryPoints: [options.entry ?? FIRMWARE_ENTRY],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2022',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      minify: options.minify ?? true,
      legalComments: 'none',
      charset: 'ascii',
      metafile: true,
      logLevel: 'silent',
      plugins: options.compactOath === false ? [compactErrors] : [compactOathEngine, compactErrors],
      // The project's tsconfig.json for what esbuild reads of it (strict: a "use strict" script), with
      // class fields assigned in the constructor, as TypeScript's classic output does: defined as
      // ES2022 fields, each class with initialisers costs QuickJS one more hidden function.
      tsconfigRaw: { compilerOptions: { strict: true, verbatimModuleSyntax: true, useDefineForClassFields: false } },
      ...(options.shortNames !== false && { mangleProps: new RegExp(`^(${INTERNAL_PROPERTIES.join('|')})$`) }),
    })
    .catch((error: { errors?: { text: string }[] }) => {
      throw new CodedError('NV_FIRMWARE_BUNDLE', `the firmware bundle did not build: ${(error.errors ?? []).map((e) => e.text).join('; ')}`);
    });
  const code = result.outputFiles[0]!.text;
  const bytes = Buffer.byteLength(code);
  return {
    code,
    bytes,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs).map((input) => path.relative(ROOT, path.resolve(input))),
  };
}

let cached: Promise<FirmwareBundle> | undefined;

/** The firmware bundle, built once per process. */
export function firmwareBundle(): Promise<FirmwareBundle> {
  cached ??= buildFirmwareBundle();
  cached.catch(() => (cached = undefined));
  return cached;
}
