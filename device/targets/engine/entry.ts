/**
 * The firmware bundle's entry (`npm run build:firmware`): leaves the firmware's entry points in
 * the global `nvFirmware`, bound to the `nvHost` the engine's host defines (see binding.ts).
 */
import { createFirmwareEntry, FIRMWARE_GLOBAL } from './binding.ts';

const global = globalThis as unknown as Record<string, unknown>;
global[FIRMWARE_GLOBAL] = createFirmwareEntry(global);
