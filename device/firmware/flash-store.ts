/**
 * A journaled key-value store on NOR flash, built so that losing power at any instant leaves
 * either the old value or the new one, never neither.
 *
 * One page is active at a time. Records are appended to it in 16-byte slots:
 *
 *   page header  magic u32 | sequence u32 | crc32(magic, sequence) | commit u32 (0 = committed)
 *   record       tag u8 | length u8 | payload | crc32(tag, length, payload), padded with 0xFF
 *
 * The newest record of a tag is its value. When the active page is full, the live records are
 * copied to the next page of the ring (which spreads the wear), that page is committed by clearing
 * its commit word, and only then is the old page erased. At mount the committed page with the
 * highest sequence wins; a torn record fails its CRC and is skipped; every other page that is not
 * blank is erased, which also completes an interrupted wipe.
 */
import { crc32 } from '../../protocol/crc32.ts';
import type { Flash } from '../hal/flash.ts';

export const SLOT_BYTES = 16;
const HEADER_BYTES = 16;
const MAGIC = 0x314a564e; // "NVJ1"
const COMMITTED = 0;
const RECORD_OVERHEAD = 6;
export const MAX_PAYLOAD_BYTES = 255;

/** The flash cannot take the write: every usable page is worn out or failing. */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageError';
  }
}

export interface StoreStats {
  readonly activePage: number;
  readonly sequence: number;
  readonly usedBytes: number;
  readonly badPages: readonly number[];
  readonly compactions: number;
}

export class FlashStore {
  private readonly values = new Map<number, Uint8Array>();
  private readonly bad = new Set<number>();
  /** Pages this boot erased and verified and has not written since: usable without another erase. */
  private readonly erased = new Set<number>();
  private readonly pageSize: number;
  private readonly pageCount: number;
  private active = -1;
  private sequence = 0;
  private writeOffset = HEADER_BYTES;
  private compactions = 0;

  private constructor(private readonly flash: Flash) {
    this.pageSize = flash.geometry.pageSize;
    this.pageCount = flash.geometry.pageCount;
    if (this.pageCount < 2 || this.pageSize % SLOT_BYTES !== 0 || this.pageSize < 256) {
      throw new RangeError('the journal needs at least two pages of 256 bytes or more, in whole slots');
    }
  }

  /** Finds the live page (formatting a blank or unreadable flash) and loads every live record. */
  static mount(flash: Flash): FlashStore {
    const store = new FlashStore(flash);
    store.recover();
    return store;
  }

  get(tag: number): Uint8Array | undefined {
    const value = this.values.get(tag);
    return value && value.slice();
  }

  /** Stores a value durably: when this returns, a power loss can no longer undo it. */
  put(tag: number, payload: Uint8Array): void {
    checkRecord(tag, payload);
    const record = encodeRecord(tag, payload);
    if (this.active >= 0 && this.writeOffset + slotsFor(record.length) * SLOT_BYTES <= this.pageSize) {
      const address = this.pageBase(this.active) + this.writeOffset;
      this.writeOffset += slotsFor(record.length) * SLOT_BYTES;
      if (this.programVerified(address, record)) {
        this.values.set(tag, payload.slice());
        return;
      }
      // The slot did not take the write; the copy below moves everything to a good page.
    }
    const next = new Map(this.values);
    next.set(tag, payload.slice());
    this.moveTo(next, false);
  }

  /**
   * Keeps only the tags `keep` accepts, on a fresh page, and erases every other page: what the
   * dropped tags held is gone from the chip, not just superseded.
   */
  retainOnly(keep: (tag: number) => boolean): void {
    const next = new Map([...this.values].filter(([tag]) => keep(tag)));
    this.moveTo(next, true);
  }

  stats(): StoreStats {
    return {
      activePage: this.active,
      sequence: this.sequence,
      usedBytes: this.writeOffset,
      badPages: [...this.bad].sort((a, b) => a - b),
      compactions: this.compactions,
    };
  }

  private recover(): void {
    let best = -1;
    let bestSequence = -1;
    for (let page = 0; page < this.pageCount; page++) {
      const header = this.readHeader(page);
      if (header.valid && header.committed && header.sequence > bestSequence) {
        best = page;
        bestSequence = header.sequence;
      }
    }
    if (best < 0) {
      this.sequence = 0;
      this.moveTo(new Map(), true);
      return;
    }
    this.active = best;
    this.sequence = bestSequence;
    this.loadRecords();
    this.eraseOtherPages();
  }

  private loadRecords(): void {
    const page = new Uint8Array(this.pageSize);
    this.flash.read(this.pageBase(this.active), page);
    let end = HEADER_BYTES;
    let slot = HEADER_BYTES;
    while (slot < this.pageSize) {
      const length = recordLengthAt(page, slot, this.pageSize);
      if (length > 0) {
        this.values.set(page[slot]!, page.slice(slot + 2, slot + 2 + page[slot + 1]!));
        slot += slotsFor(length) * SLOT_BYTES;
        end = slot;
        continue;
      }
      if (!isBlank(page, slot, slot + SLOT_BYTES)) end = slot + SLOT_BYTES;
      slot += SLOT_BYTES;
    }
    this.writeOffset = end;
  }

  /** Copies `records` to a fresh page of the ring, commits it, then erases the old page (or all others). */
  private moveTo(records: Map<number, Uint8Array>, eraseAllOthers: boolean): void {
    const encoded = [...records].map(([tag, payload]) => encodeRecord(tag, payload));
    const needed = HEADER_BYTES + encoded.reduce((sum, r) => sum + slotsFor(r.length) * SLOT_BYTES, 0);
    if (needed > this.pageSize) throw new StorageError('the live records no longer fit one page');
    const start = this.active < 0 ? this.pageCount - 1 : this.active;
    for (let step = 1; step <= this.pageCount; step++) {
      const target = (start + step) % this.pageCount;
      if (target === this.active || this.bad.has(target)) continue;
      if (this.writePage(target, this.sequence + 1, encoded)) {
        const previous = this.active;
        this.active = target;
        this.sequence += 1;
        this.writeOffset = needed;
        this.values.clear();
        for (const [tag, payload] of records) this.values.set(tag, payload.slice());
        this.compactions++;
        if (eraseAllOthers) this.eraseOtherPages();
        else if (previous >= 0) this.eraseVerified(previous);
        return;
      }
      this.bad.add(target);
    }
    throw new StorageError('no flash page left that takes a write');
  }

  private writePage(page: number, sequence: number, records: Uint8Array[]): boolean {
    // An erase this boot verified is trusted; one interrupted before a reboot may read blank yet be weak.
    if (!this.erased.has(page) && !this.eraseVerified(page)) return false;
    this.erased.delete(page);
    const base = this.pageBase(page);
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, sequence >>> 0, true);
    view.setUint32(8, crc32(header, 0, 8), true);
    if (!this.programVerified(base, header)) return false;
    let offset = HEADER_BYTES;
    for (const record of records) {
      if (!this.programVerified(base + offset, record)) return false;
      offset += slotsFor(record.length) * SLOT_BYTES;
    }
    return this.programVerified(base + 12, new Uint8Array(4).fill(COMMITTED));
  }

  private eraseOtherPages(): void {
    const page = new Uint8Array(this.pageSize);
    for (let other = 0; other < this.pageCount; other++) {
      if (other === this.active || this.bad.has(other)) continue;
      this.flash.read(this.pageBase(other), page);
      if (!isBlank(page, 0, this.pageSize)) this.eraseVerified(other);
    }
  }

  private eraseVerified(page: number): boolean {
    this.flash.erase(page);
    const check = new Uint8Array(this.pageSize);
    this.flash.read(this.pageBase(page), check);
    if (isBlank(check, 0, this.pageSize)) {
      this.erased.add(page);
      return true;
    }
    this.bad.add(page);
    return false;
  }

  private programVerified(address: number, data: Uint8Array): boolean {
    this.flash.program(address, data);
    const check = new Uint8Array(data.length);
    this.flash.read(address, check);
    for (let i = 0; i < data.length; i++) if (check[i] !== data[i]) return false;
    return true;
  }

  private readHeader(page: number): { valid: boolean; committed: boolean; sequence: number } {
    const header = new Uint8Array(HEADER_BYTES);
    this.flash.read(this.pageBase(page), header);
    const view = new DataView(header.buffer);
    const valid = view.getUint32(0, true) === MAGIC && view.getUint32(8, true) === crc32(header, 0, 8);
    return { valid, committed: view.getUint32(12, true) === COMMITTED, sequence: view.getUint32(4, true) };
  }

  private pageBase(page: number): number {
    return page * this.pageSize;
  }
}

function checkRecord(tag: number, payload: Uint8Array): void {
  if (!Number.isInteger(tag) || tag < 1 || tag > 0xfe) throw new RangeError('record tags are 1..254');
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`a record holds at most ${MAX_PAYLOAD_BYTES} bytes`);
}

function encodeRecord(tag: number, payload: Uint8Array): Uint8Array {
  const record = new Uint8Array(RECORD_OVERHEAD + payload.length);
  record[0] = tag;
  record[1] = payload.length;
  record.set(payload, 2);
  new DataView(record.buffer).setUint32(2 + payload.length, crc32(record, 0, 2 + payload.length), true);
  return record;
}

/** The byte length of a valid record starting at `offset`, or 0 when there is none. */
function recordLengthAt(page: Uint8Array, offset: number, pageSize: number): number {
  const tag = page[offset]!;
  if (tag === 0 || tag === 0xff) return 0;
  const length = RECORD_OVERHEAD + page[offset + 1]!;
  if (offset + length > pageSize) return 0;
  const stored = new DataView(page.buffer, page.byteOffset).getUint32(offset + length - 4, true);
  return stored === crc32(page, offset, offset + length - 4) ? length : 0;
}

function slotsFor(bytes: number): number {
  return Math.ceil(bytes / SLOT_BYTES);
}

function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0xff) return false;
  return true;
}
