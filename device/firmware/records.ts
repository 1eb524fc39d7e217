/** What the token keeps in flash, and the byte layout of each record. */
import { OATH_ALGORITHMS, type OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { OATH_MODES, type OathMode } from '../../protocol/commands.ts';
import { MAX_SPEED, MAX_VOLUME, MIN_SPEED, MIN_VOLUME } from '../hal/speaker.ts';

export const TAG = {
  /** The serial number, written once at first boot ("factory provisioning"). */
  serial: 0x01,
  /** Seed and OATH parameters, written in one record so an enrolment is all there or not at all. */
  enrolment: 0x02,
  /** The next HOTP counter to use; absent until the first press after enrolment. */
  counter: 0x03,
  /** Press events on or off, and the speaker's volume and speed: one record, so a change is all there or not at all. */
  settings: 0x04,
} as const;

export interface EnrolmentRecord {
  mode: OathMode;
  algorithm: OathAlgorithm;
  digits: number;
  period: number;
  initialCounter: number;
  secret: Uint8Array;
}

/** The speaker's settings, as the host and the double press set them. */
export interface AudioSettings {
  volume: number;
  speed: number;
}

export interface Settings extends AudioSettings {
  push: boolean;
}

const ENROLMENT_VERSION = 1;

export function encodeEnrolment(e: EnrolmentRecord): Uint8Array {
  const bytes = new Uint8Array(15 + e.secret.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = ENROLMENT_VERSION;
  bytes[1] = OATH_MODES.indexOf(e.mode);
  bytes[2] = OATH_ALGORITHMS.indexOf(e.algorithm);
  bytes[3] = e.digits;
  view.setUint16(4, e.period, true);
  writeUint64(view, 6, e.initialCounter);
  bytes[14] = e.secret.length;
  bytes.set(e.secret, 15);
  return bytes;
}

/** undefined for a record this firmware cannot read. */
export function decodeEnrolment(bytes: Uint8Array): EnrolmentRecord | undefined {
  if (bytes.length < 16 || bytes[0] !== ENROLMENT_VERSION || bytes.length !== 15 + bytes[14]!) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mode = OATH_MODES[bytes[1]!];
  const algorithm = OATH_ALGORITHMS[bytes[2]!];
  if (!mode || !algorithm) return undefined;
  return {
    mode,
    algorithm,
    digits: bytes[3]!,
    period: view.getUint16(4, true),
    initialCounter: readUint64(view, 6),
    secret: bytes.slice(15),
  };
}

export function encodeCounter(counter: number): Uint8Array {
  const bytes = new Uint8Array(8);
  writeUint64(new DataView(bytes.buffer), 0, counter);
  return bytes;
}

export function decodeCounter(bytes: Uint8Array): number | undefined {
  if (bytes.length !== 8) return undefined;
  return readUint64(new DataView(bytes.buffer, bytes.byteOffset, 8), 0);
}

/** push, volume, speed: one byte each. */
export function encodeSettings(settings: Settings): Uint8Array {
  return Uint8Array.of(settings.push ? 1 : 0, settings.volume, settings.speed);
}

/**
 * The settings a record holds; what it lacks (no record yet, or the one byte of a token from before
 * the speaker) or holds out of range is the model's default.
 */
export function decodeSettings(bytes: Uint8Array | undefined, audioDefaults: AudioSettings): Settings {
  const volume = bytes?.[1];
  const speed = bytes?.[2];
  return {
    push: bytes === undefined || bytes[0] !== 0,
    volume: volume !== undefined && volume >= MIN_VOLUME && volume <= MAX_VOLUME ? volume : audioDefaults.volume,
    speed: speed !== undefined && speed >= MIN_SPEED && speed <= MAX_SPEED ? speed : audioDefaults.speed,
  };
}

function writeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / 2 ** 32), true);
  view.setUint32(offset + 4, value >>> 0, true);
}

function readUint64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) * 2 ** 32 + view.getUint32(offset + 4, true);
}
