/**
 * `npm run build:firmware`: the firmware bundle for an embedded engine (device/build/firmware-bundle.ts)
 * to dist/firmware/noegleviser-firmware.js, and beside it what a board loads, the same script as
 * QuickJS-NG bytecode without source text or debug information (noegleviser-firmware.qjsbc,
 * device/targets/quickjs/quickjs-bytecode.ts), with their sizes and what the bytecode takes of a
 * QuickJS runtime's memory once loaded (the firmware's code; its data comes at boot). Nothing
 * needs the files: the QuickJS target builds and compiles the same in memory when it starts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { QuickJS } from 'quickjs-wasi';
import { ROOT, buildFirmwareBundle } from '../device/build/firmware-bundle.ts';
import { compileToBytecode, quickJsWasm } from '../device/targets/quickjs/quickjs-bytecode.ts';

const bundle = await buildFirmwareBundle();
const bytecode = await compileToBytecode(bundle.code);
const dir = path.join(ROOT, 'dist', 'firmware');
mkdirSync(dir, { recursive: true });
const script = path.join(dir, 'noegleviser-firmware.js');
const image = path.join(dir, 'noegleviser-firmware.qjsbc');
writeFileSync(script, bundle.code);
writeFileSync(image, bytecode.bytes);

/** What loading the bytecode adds to an empty runtime, by QuickJS's own report. */
async function loaded(bytes: Uint8Array) {
  const vm = await QuickJS.create({ wasm: await quickJsWasm() });
  try {
    vm.runGC();
    const before = vm.getMemoryUsage();
    vm.evalBytecode(bytes).dispose();
    vm.runGC();
    const after = vm.getMemoryUsage();
    return {
      bytes: after.memoryUsedSize - before.memoryUsedSize,
      functions: after.jsFuncCount - before.jsFuncCount,
      objects: after.objCount - before.objCount,
      atoms: after.atomCount - before.atomCount,
    };
  } finally {
    vm.dispose();
  }
}

const code = await loaded(bytecode.bytes);
const shown = (file: string) => path.relative(process.cwd(), file);
process.stdout.write(
  `${shown(script)}: ${bundle.bytes.toLocaleString('en-US')} bytes, ${bundle.gzipBytes.toLocaleString('en-US')} gzipped, ${bundle.inputs.length} source files\n` +
    `${shown(image)}: ${bytecode.bytes.byteLength.toLocaleString('en-US')} bytes of QuickJS-NG ${bytecode.engineVersion} bytecode (no source text, no debug information)\n` +
    `loaded in QuickJS-NG: ${(code.bytes / 1024).toFixed(1)} KiB of memory_used_size (${code.functions} functions, ${code.objects} objects, ${code.atoms} atoms), before boot\n`,
);
