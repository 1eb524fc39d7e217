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
 * Written for an embedded engine, where each function costs about 200 bytes of RAM, and so does
 * each object held after boot: few methods, the small steps written out where they are used, and
 * the state in two byte arrays. The live records are kept as one block laid out as a fresh page
 * holds them (each encoded record padded to whole slots; the padding is never written), so a page
 * change copies them as they are; the pages' states this boot (erased, bad) are one byte per page.
 * Slot rounding is exact integer arithmetic, `(n + SlotBytes - 1) & -SlotBytes`, rather than Math
 * (which an embedded engine builds on first use): n is at most a page size.
 */
import { crc32 } from '../../protocol/crc32.ts';
import type { Flash } from '../hal/flash.ts';

/**
 * The layout's numbers. A const enum, so the bundle writes them as literals: a constant of the
 * module would cost the embedded engine a variable, and a reference to it in every function.
 */
const enum Layout {
  SlotBytes = 16,
  HeaderBytes = 16,
  Magic = 0x314a564e, // "NVJ1"
  /** tag, length and the CRC around a payload. */
  RecordOverhead = 6,
  MaxPayloadBytes = 255,
  /**
   * A record's length byte (its payload's length) plus this, with the low bits cleared
   * (`& -SlotBytes`), is what the record takes on a page: its bytes rounded up to whole slots.
   */
  SlottedOverhead = RecordOverhead + SlotBytes - 1,
}
/** A page's state this boot, in `pageStates` (0: neither). */
const enum PageState {
  /** Erased and verified blank this boot, and not written since. */
  Erased = 1,
  /** It failed an erase or a write this boot, and is not used again. */
  Bad = 2,
}
export const SLOT_BYTES = Layout.SlotBytes;
export const MAX_PAYLOAD_BYTES = Layout.MaxPayloadBytes;

/** The flash cannot take the write: every usable page is worn out or failing. */
export class StorageError extends Error {}
// On the prototype rather than set by a constructor of its own: one function body less.
StorageError.prototype.name = 'StorageError';

export class FlashStore {
  // Declared, not initialised here: the constructor sets every field (a field initialiser would
  // cost QuickJS one more function).
  private declare readonly flash: Flash;
  private declare readonly pageSize: number;
  /** The live records, laid out as a fresh page holds them after its header. */
  private declare liveRecords: Uint8Array;
  /** A PageState or 0 for each page (its length is the page count). */
  private declare readonly pageStates: Uint8Array;
  private declare active: number;
  /** The active page's; every page change (the format of a blank chip included) adds one. */
  private declare sequence: number;
  private declare writeOffset: number;

  /** Mounts the journal: finds the live page (formatting a blank or unreadable flash) and loads every live record. */
  constructor(flash: Flash) {
    // Few locals (each costs an embedded engine RAM for as long as the code is loaded): `active`
    // holds the best page while the headers are read, and `p` and `end` serve every loop.
    const pageSize = flash.geometry.pageSize;
    this.flash = flash;
    this.pageSize = pageSize;
    this.pageStates = new Uint8Array(flash.geometry.pageCount);
    // At least two pages of 256 bytes or more, in whole slots (a short text: the firmware keeps each loaded).
    if (this.pageStates.length < 2 || pageSize % Layout.SlotBytes !== 0 || pageSize < 256) throw new RangeError('bad flash geometry');
    this.liveRecords = new Uint8Array(0);
    this.active = -1;
    this.sequence = 0;
    this.writeOffset = Layout.HeaderBytes;

    const page = new Uint8Array(pageSize);
    const view = new DataView(page.buffer);
    let p = 0;
    let end = 0;
    // The committed page with the highest sequence (the first of equals) is the live one.
    for (; p < this.pageStates.length; p++) {
      flash.read(p * pageSize, page.subarray(0, Layout.HeaderBytes));
      if (
        view.getUint32(0, true) === Layout.Magic &&
        view.getUint32(8, true) === crc32(page, 0, 8) &&
        view.getUint32(12, true) === 0 &&
        (this.active < 0 || view.getUint32(4, true) > this.sequence)
      ) {
        this.active = p;
        this.sequence = view.getUint32(4, true);
      }
    }
    if (this.active < 0) {
      // A blank or unreadable chip: formatted, with no records (the other pages are erased below).
      this.retainOnly();
    } else {
      flash.read(this.active * pageSize, page);
      // Slots are 16-byte aligned, so the slot after a record is its end rounded up.
      for (p = Layout.HeaderBytes; p < pageSize; ) {
        end = p + Layout.RecordOverhead + page[p + 1]!;
        if (page[p] !== 0 && page[p] !== 0xff && end <= pageSize && view.getUint32(end - 4, true) === crc32(page, p, end - 4)) {
          this.put(page[p]!, page.subarray(p + 2, end - 4), true);
          p = this.writeOffset = (end + (Layout.SlotBytes - 1)) & -Layout.SlotBytes;
          continue;
        }
        // Not a record: a torn write is skipped, and the next record goes after whatever was written.
        for (end = p; end < p + Layout.SlotBytes; end++) if (page[end] !== 0xff) this.writeOffset = p + Layout.SlotBytes;
        p += Layout.SlotBytes;
      }
    }
    for (p = 0; p < this.pageStates.length; p++) if (p !== this.active) this.write(p * pageSize, undefined, true);
  }

  get(tag: number): Uint8Array | undefined {
    const live = this.liveRecords;
    for (let at = 0; at < live.length; at += (live[at + 1]! + Layout.SlottedOverhead) & -Layout.SlotBytes) {
      // A copy: the caller may wipe or change what it gets.
      if (live[at] === tag) return live.slice(at + 2, at + 2 + live[at + 1]!);
    }
    return undefined;
  }

  /**
   * Stores a value durably: when this returns, a power loss can no longer undo it. With `onPage`
   * (the mount's own use), the record is already on the active page and only joins the live ones.
   */
  put(tag: number, payload: Uint8Array, onPage?: boolean): void {
    // Tags are 1..254, payloads at most MaxPayloadBytes: only a programming mistake passes others.
    if (!(tag >= 1 && tag <= 0xfe && tag % 1 === 0 && payload.length <= Layout.MaxPayloadBytes)) throw new RangeError('bad record tag or size');
    const record = new Uint8Array(payload.length + Layout.RecordOverhead);
    record[0] = tag;
    record[1] = payload.length;
    record.set(payload, 2);
    new DataView(record.buffer).setUint32(payload.length + 2, crc32(record, 0, payload.length + 2), true);
    const slots = (record.length + (Layout.SlotBytes - 1)) & -Layout.SlotBytes;
    // The live records with this one in place of its tag's, or after the others when there is
    // none: a page change copies the records in the order their tags first appeared, as the
    // journal always has.
    const live = this.liveRecords;
    let at = 0;
    let end = 0;
    // Without one of its tag, `at` and `end` both stop at the end of the block.
    for (; at < live.length; at = end) {
      end = at + ((live[at + 1]! + Layout.SlottedOverhead) & -Layout.SlotBytes);
      if (live[at] === tag) break;
    }
    const next = new Uint8Array(live.length - (end - at) + slots);
    next.set(live.subarray(0, at));
    next.set(record, at);
    // The records after it keep their place from the end.
    next.set(live.subarray(end), next.length - (live.length - end));
    if (!onPage && this.active >= 0 && this.writeOffset + slots <= this.pageSize) {
      this.writeOffset += slots;
      // When the slot does not take the write, the copy below moves everything to a good page.
      onPage = this.write(this.active * this.pageSize + this.writeOffset - slots, record);
    }
    if (onPage) this.liveRecords = next;
    else this.retainOnly(undefined, next);
  }

  /**
   * Keeps only the tags `keep` accepts, on a fresh page, and erases every other page: what the
   * dropped tags held is gone from the chip, not just superseded (the wipe).
   *
   * Without `keep` (the store's own use, one function rather than two): copies `live` to a fresh
   * page, commits it, and erases the page it replaces.
   */
  retainOnly(keep?: (tag: number) => boolean, live: Uint8Array = this.liveRecords): void {
    let at = 0;
    let end = 0;
    let kept = 0;
    if (keep) {
      // The kept records in their order, each still padded to whole slots.
      live = new Uint8Array(this.liveRecords.length);
      for (; at < this.liveRecords.length; at = end) {
        end = at + ((this.liveRecords[at + 1]! + Layout.SlottedOverhead) & -Layout.SlotBytes);
        if (keep(this.liveRecords[at]!)) {
          live.set(this.liveRecords.subarray(at, end), kept);
          kept += end - at;
        }
      }
      live = live.subarray(0, kept);
    }
    if (Layout.HeaderBytes + live.length > this.pageSize) throw new StorageError('no page takes the records');
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setUint32(0, Layout.Magic, true);
    view.setUint32(4, (this.sequence + 1) >>> 0, true);
    view.setUint32(8, crc32(header, 0, 8), true);
    const states = this.pageStates;
    const previous = this.active;
    // `at` walks the records, then the pages to erase.
    for (let step = 1; step <= states.length; step++) {
      const target = ((previous < 0 ? states.length - 1 : previous) + step) % states.length;
      if (target === previous || states[target] === PageState.Bad) continue;
      // An erase this boot verified is trusted; one interrupted before a reboot may read blank yet be weak.
      let written = states[target] === PageState.Erased || this.write(target * this.pageSize);
      states[target] = 0;
      written &&= this.write(target * this.pageSize, header);
      // Each record programmed as it is, without its padding (the erased flash is the padding).
      for (at = 0; at < live.length; at += (live[at + 1]! + Layout.SlottedOverhead) & -Layout.SlotBytes) {
        written &&= this.write(target * this.pageSize + Layout.HeaderBytes + at, live.subarray(at, at + Layout.RecordOverhead + live[at + 1]!));
      }
      // Clearing the commit word commits the page: until then a mount ignores it.
      if (written && this.write(target * this.pageSize + 12, new Uint8Array(4))) {
        this.active = target;
        this.sequence += 1;
        this.writeOffset = Layout.HeaderBytes + live.length;
        this.liveRecords = live;
        if (keep) {
          for (at = 0; at < states.length; at++) if (at !== target) this.write(at * this.pageSize, undefined, true);
        } else if (previous >= 0) this.write(previous * this.pageSize);
        return;
      }
      states[target] = PageState.Bad;
    }
    throw new StorageError('no page takes the records');
  }

  /**
   * One flash operation, checked by reading back: with `data`, programs it at `address`; without,
   * erases the page that starts at `address` and marks it Erased, or Bad when it does not read
   * blank. True when the bytes read back as written (all 0xFF after an erase). With `ifWritten`,
   * an erase leaves a page already bad (false) or reading blank (true) alone, and does not mark it
   * erased: an erase interrupted before a reboot may read blank yet be weak.
   */
  private write(address: number, data?: Uint8Array, ifWritten?: boolean): boolean {
    const page = address / this.pageSize;
    if (ifWritten && this.pageStates[page] === PageState.Bad) return false;
    const check = new Uint8Array(data ? data.length : this.pageSize);
    // With `ifWritten` the first pass only reads; every later one writes.
    for (; ; ifWritten = false) {
      if (!ifWritten) {
        if (data) this.flash.program(address, data);
        else this.flash.erase(page);
      }
      this.flash.read(address, check);
      let same = true;
      for (let i = 0; i < check.length && same; i++) same = check[i] === (data ? data[i] : 0xff);
      if (data) return same;
      if (!ifWritten) {
        this.pageStates[page] = same ? PageState.Erased : PageState.Bad;
        return same;
      }
      if (same) return true;
    }
  }
}
