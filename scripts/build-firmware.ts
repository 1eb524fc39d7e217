/**
 * `npm run build:firmware`: the firmware bundle for an embedded engine (device/build/firmware-bundle.ts)
 * to dist/firmware/noegleviser-firmware.js, with its size. Nothing needs the file: the QuickJS
 * target builds the same bundle in memory when it starts; this is the artifact for a board.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, buildFirmwareBundle } from '../device/build/firmware-bundle.ts';

const bundle = await buildFirmwareBundle();
const dir = path.join(ROOT, 'dist', 'firmware');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'noegleviser-firmware.js');
writeFileSync(file, bundle.code);
process.stdout.write(`${path.relative(process.cwd(), file)}: ${bundle.bytes.toLocaleString('en-US')} bytes, ${bundle.gzipBytes.toLocaleString('en-US')} gzipped, ${bundle.inputs.length} source files\n`);
