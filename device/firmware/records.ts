/**
 * What the token keeps in flash, and the byte layout of each record. One encoder and one decoder
 * with a case per tag rather than a pair of functions per record: on an embedded engine every
 * function costs about 200 bytes of RAM whatever its size.
 */
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

/** What each encoded tag holds (the serial is stored as its bytes, with no codec). */
export interface RecordValues {
  [TAG.enrolment]: EnrolmentRecord;
  [TAG.counter]: number;
  [TAG.settings]: Settings;
}

/** The enrolment record's layout version (a const enum: the bundle writes it as a literal). */
const enum Enrolment {
  Version = 1,
}

/**
 * The payload of a record:
 *   enrolment  version u8 | mode u8 | algorithm u8 | digits u8 | period u16 LE | initial counter u64 | secret length u8 | secret
 *   counter    u64
 *   settings   push u8 | volume u8 | speed u8
 * A u64 is two u32 LE words, the high one first (a counter stays below 2^53).
 */
export function encodeRecord<T extends keyof RecordValues>(tag: T, value: RecordValues[T]): Uint8Array;
// One parameter typed as either record: an alias would cost the embedded engine a local.
export function encodeRecord(tag: keyof RecordValues, e: EnrolmentRecord & Settings): Uint8Array {
  if (tag === TAG.settings) return new Uint8Array([e.push ? 1 : 0, e.volume, e.speed]);
  // A counter record is the u64 alone; an enrolment has it at offset 6.
  const at = tag === TAG.counter ? 0 : 6;
  const counter = at ? e.initialCounter : (e as unknown as number);
  const bytes = new Uint8Array(at ? 15 + e.secret.length : 8);
  if (at) {
    bytes[0] = Enrolment.Version;
    bytes[1] = OATH_MODES.indexOf(e.mode);
    bytes[2] = OATH_ALGORITHMS.indexOf(e.algorithm);
    bytes[3] = e.digits;
    bytes[4] = e.period;
    bytes[5] = e.period >> 8;
    bytes[14] = e.secret.length;
    bytes.set(e.secret, 15);
  }
  // The high word without Math: for 0 <= counter < 2^53 the quotient is below 2^21, and `>>> 0`
  // truncates it exactly as a floor would.
  new DataView(bytes.buffer).setUint32(at, (counter / 2 ** 32) >>> 0, true);
  new DataView(bytes.buffer).setUint32(at + 4, counter >>> 0, true);
  return bytes;
}

/**
 * The value a record holds; undefined for an enrolment or a counter this firmware cannot read.
 * Settings always decode: what the record lacks (no record yet, or the one byte of a token from
 * before the speaker) or holds out of range is the model's default.
 */
export function decodeRecord(tag: typeof TAG.enrolment, bytes: Uint8Array): EnrolmentRecord | undefined;
export function decodeRecord(tag: typeof TAG.counter, bytes: Uint8Array): number | undefined;
export function decodeRecord(tag: typeof TAG.settings, bytes: Uint8Array | undefined, audioDefaults: AudioSettings): Settings;
export function decodeRecord(tag: keyof RecordValues, bytes: Uint8Array | undefined, audioDefaults?: AudioSettings): RecordValues[keyof RecordValues] | undefined {
  if (tag === TAG.settings) {
    // A byte the record lacks (no record yet, or the one byte of a token from before the speaker)
    // is undefined, and undefined compares false.
    return {
      push: bytes === undefined || bytes[0] !== 0,
      volume: bytes?.[1]! >= MIN_VOLUME && bytes![1]! <= MAX_VOLUME ? bytes![1]! : audioDefaults!.volume,
      speed: bytes?.[2]! >= MIN_SPEED && bytes![2]! <= MAX_SPEED ? bytes![2]! : audioDefaults!.speed,
    };
  }
  // Only settings decode from no record; the overloads pass bytes for the others.
  if (!bytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tag === TAG.counter) return bytes.length === 8 ? view.getUint32(0, true) * 2 ** 32 + view.getUint32(4, true) : undefined;
  if (bytes.length < 16 || bytes[0] !== Enrolment.Version || bytes.length !== 15 + bytes[14]! || !OATH_MODES[bytes[1]!] || !OATH_ALGORITHMS[bytes[2]!]) return undefined;
  return {
    mode: OATH_MODES[bytes[1]!]!,
    algorithm: OATH_ALGORITHMS[bytes[2]!]!,
    digits: bytes[3]!,
    period: bytes[4]! | (bytes[5]! << 8),
    initialCounter: view.getUint32(6, true) * 2 ** 32 + view.getUint32(10, true),
    secret: bytes.slice(15),
  };
}
