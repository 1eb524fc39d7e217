/**
 * The firmware as one script for an embedded engine: the firmware core, the protocol codecs and
 * the OATH engine behind the binding of device/targets/engine, bundled by esbuild into an IIFE
 * for ES2020 that assigns the global `nvFirmware` and uses nothing of Node or of V8. The OATH
 * engine's speed-for-size parts (the unrolled SHA-1, @noble/hashes, the digit table) are swapped
 * for protocol/oath/engines-compact.ts, which gives the same answers in a fraction of the memory.
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

export interface BundleOptions {
  readonly entry?: string;
  readonly minify?: boolean;
  /** The OATH engine's compact parts (default); false keeps the fast ones, as V8 and the server run them. */
  readonly compactOath?: boolean;
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
      target: 'es2020',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      minify: options.minify ?? true,
      legalComments: 'none',
      charset: 'ascii',
      metafile: true,
      logLevel: 'silent',
      plugins: options.compactOath === false ? [] : [compactOathEngine],
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
