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
 *
 * Written for an embedded engine, where each function costs about 200 bytes of RAM: few methods,
 * the small steps written out where they are used, and the live records kept in memory as their
 * encoded bytes, so a page change copies them as they are.
 */
import { crc32 } from '../../protocol/crc32.ts';
import type { Flash } from '../hal/flash.ts';

export const SLOT_BYTES = 16;
const HEADER_BYTES = 16;
const MAGIC = 0x314a564e; // "NVJ1"
/** tag, length and the CRC around a payload. */
const RECORD_OVERHEAD = 6;
export const MAX_PAYLOAD_BYTES = 255;

/** The flash cannot take the write: every usable page is worn out or failing. */
export class StorageError extends Error {}
// On the prototype rather than set by a constructor of its own: one function body less.
StorageError.prototype.name = 'StorageError';

export class FlashStore {
  // Declared, not initialised here: the constructor sets every field (a field initialiser would
  // cost QuickJS one more function).
  private declare readonly flash: Flash;
  private declare readonly pageSize: number;
  private declare readonly pageCount: number;
  /** The live records by tag, each as the bytes it has on flash. */
  private declare values: Map<number, Uint8Array>;
  private declare readonly bad: Set<number>;
  /** Pages this boot erased and verified and has not written since: usable without another erase. */
  private declare readonly erased: Set<number>;
  private declare active: number;
  /** The active page's; every page change (the format of a blank chip included) adds one. */
  private declare sequence: number;
  private declare writeOffset: number;

  /** Mounts the journal: finds the live page (formatting a blank or unreadable flash) and loads every live record. */
  constructor(flash: Flash) {
    const { pageSize, pageCount } = flash.geometry;
    if (pageCount < 2 || pageSize % SLOT_BYTES !== 0 || pageSize < 256) {
      throw new RangeError('the journal needs at least two pages of 256 bytes or more, in whole slots');
    }
    this.flash = flash;
    this.pageSize = pageSize;
    this.pageCount = pageCount;
    this.values = new Map();
    this.bad = new Set();
    this.erased = new Set();
    this.active = -1;
    this.sequence = 0;
    this.writeOffset = HEADER_BYTES;

    const page = new Uint8Array(pageSize);
    const view = new DataView(page.buffer);
    // The committed page with the highest sequence (the first of equals) is the live one.
    let best = -1;
    for (let p = 0; p < pageCount; p++) {
      flash.read(p * pageSize, page.subarray(0, HEADER_BYTES));
      const sequence = view.getUint32(4, true);
      const valid = view.getUint32(0, true) === MAGIC && view.getUint32(8, true) === crc32(page, 0, 8);
      if (valid && view.getUint32(12, true) === 0 && (best < 0 || sequence > this.sequence)) {
        best = p;
        this.sequence = sequence;
      }
    }
    if (best < 0) {
      this.moveTo(this.values, true);
      return;
    }
    this.active = best;
    flash.read(best * pageSize, page);
    let slot = HEADER_BYTES;
    while (slot < pageSize) {
      const tag = page[slot]!;
      const length = RECORD_OVERHEAD + page[slot + 1]!;
      const end = slot + length;
      if (tag !== 0 && tag !== 0xff && end <= pageSize && view.getUint32(end - 4, true) === crc32(page, slot, end - 4)) {
        this.values.set(tag, page.slice(slot, end));
        slot += Math.ceil(length / SLOT_BYTES) * SLOT_BYTES;
        this.writeOffset = slot;
        continue;
      }
      // Not a record: a torn write is skipped, and the next record goes after whatever was written.
      for (let i = slot; i < slot + SLOT_BYTES; i++) if (page[i] !== 0xff) this.writeOffset = slot + SLOT_BYTES;
      slot += SLOT_BYTES;
    }
    for (let other = 0; other < pageCount; other++) if (other !== best) this.erase(other, true);
  }

  get(tag: number): Uint8Array | undefined {
    const record = this.values.get(tag);
    return record && record.slice(2, 2 + record[1]!);
  }

  /** Stores a value durably: when this returns, a power loss can no longer undo it. */
  put(tag: number, payload: Uint8Array): void {
    if (!Number.isInteger(tag) || tag < 1 || tag > 0xfe) throw new RangeError('record tags are 1..254');
    if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`a record holds at most ${MAX_PAYLOAD_BYTES} bytes`);
    const end = 2 + payload.length;
    const record = new Uint8Array(end + 4);
    record[0] = tag;
    record[1] = payload.length;
    record.set(payload, 2);
    new DataView(record.buffer).setUint32(end, crc32(record, 0, end), true);
    const slots = Math.ceil(record.length / SLOT_BYTES) * SLOT_BYTES;
    if (this.active >= 0 && this.writeOffset + slots <= this.pageSize) {
      const address = this.active * this.pageSize + this.writeOffset;
      this.writeOffset += slots;
      if (this.program(address, record)) {
        this.values.set(tag, record);
        return;
      }
      // The slot did not take the write; the copy below moves everything to a good page.
    }
    const next = new Map(this.values);
    next.set(tag, record);
    this.moveTo(next, false);
  }

  /**
   * Keeps only the tags `keep` accepts, on a fresh page, and erases every other page: what the
   * dropped tags held is gone from the chip, not just superseded.
   */
  retainOnly(keep: (tag: number) => boolean): void {
    const next = new Map<number, Uint8Array>();
    for (const [tag, record] of this.values) if (keep(tag)) next.set(tag, record);
    this.moveTo(next, true);
  }

  /** Copies `records` to a fresh page of the ring, commits it, then erases the old page (or all others). */
  private moveTo(records: Map<number, Uint8Array>, eraseAllOthers: boolean): void {
    let needed = HEADER_BYTES;
    for (const record of records.values()) needed += Math.ceil(record.length / SLOT_BYTES) * SLOT_BYTES;
    if (needed > this.pageSize) throw new StorageError('the live records no longer fit one page');
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, (this.sequence + 1) >>> 0, true);
    view.setUint32(8, crc32(header, 0, 8), true);
    const previous = this.active;
    const start = previous < 0 ? this.pageCount - 1 : previous;
    for (let step = 1; step <= this.pageCount; step++) {
      const target = (start + step) % this.pageCount;
      if (target === previous || this.bad.has(target)) continue;
      const base = target * this.pageSize;
      // An erase this boot verified is trusted; one interrupted before a reboot may read blank yet be weak.
      let written = this.erased.has(target) || this.erase(target, false);
      this.erased.delete(target);
      written &&= this.program(base, header);
      let offset = HEADER_BYTES;
      for (const record of records.values()) {
        written &&= this.program(base + offset, record);
        offset += Math.ceil(record.length / SLOT_BYTES) * SLOT_BYTES;
      }
      // Clearing the commit word commits the page: until then a mount ignores it.
      if (written && this.program(base + 12, new Uint8Array(4))) {
        this.active = target;
        this.sequence += 1;
        this.writeOffset = needed;
        this.values = records;
        if (eraseAllOthers) {
          for (let other = 0; other < this.pageCount; other++) if (other !== target) this.erase(other, true);
        } else if (previous >= 0) this.erase(previous, false);
        return;
      }
      this.bad.add(target);
    }
    throw new StorageError('no flash page left that takes a write');
  }

  /**
   * Erases `page` and checks that it reads blank, marking it bad when it does not. With
   * `ifWritten`, a page already bad or reading blank is left alone (and not counted as freshly
   * erased: an erase interrupted before a reboot may read blank yet be weak).
   */
  private erase(page: number, ifWritten: boolean): boolean {
    const bytes = new Uint8Array(this.pageSize);
    const address = page * this.pageSize;
    let blank = true;
    if (ifWritten) {
      if (this.bad.has(page)) return false;
      this.flash.read(address, bytes);
      for (let i = 0; i < bytes.length && blank; i++) blank = bytes[i] === 0xff;
      if (blank) return true;
      blank = true;
    }
    this.flash.erase(page);
    this.flash.read(address, bytes);
    for (let i = 0; i < bytes.length && blank; i++) blank = bytes[i] === 0xff;
    if (blank) this.erased.add(page);
    else this.bad.add(page);
    return blank;
  }

  /** Programs `data` at `address`; true when it reads back as written. */
  private program(address: number, data: Uint8Array): boolean {
    this.flash.program(address, data);
    const check = new Uint8Array(data.length);
    this.flash.read(address, check);
    for (let i = 0; i < data.length; i++) if (check[i] !== data[i]) return false;
    return true;
  }
}
