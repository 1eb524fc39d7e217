/** The simulated NOR flash keeps the real part's rules: 0xFF erase, AND programming, wear, torn writes. */
import { describe, expect, it } from 'vitest';
import { PowerLossError, SimFlash, type FlashChange } from './sim-flash.ts';

const GEOMETRY = { pageSize: 256, pageCount: 4 };

function readBytes(flash: SimFlash, address: number, length: number): Uint8Array {
  const into = new Uint8Array(length);
  flash.read(address, into);
  return into;
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

describe('SimFlash', () => {
  it('reads 0xFF everywhere when fresh, with no erases counted', () => {
    const flash = new SimFlash({ geometry: GEOMETRY });
    const all = readBytes(flash, 0, GEOMETRY.pageSize * GEOMETRY.pageCount);
    expect(all.every((b) => b === 0xff)).toBe(true);
    expect([...flash.eraseCounts]).toEqual([0, 0, 0, 0]);
    expect(flash.operations).toBe(0);
  });

  it('programs by AND: bits can be cleared but never set back to 1 without an erase', () => {
    const flash = new SimFlash({ geometry: GEOMETRY });
    flash.program(10, bytes(0b1010_1100, 0x0f, 0x00));
    expect([...readBytes(flash, 10, 3)]).toEqual([0b1010_1100, 0x0f, 0x00]);
    flash.program(10, bytes(0b0110_1010, 0xf0, 0xff));
    // 1010_1100 & 0110_1010 = 0010_1000; 0x0f & 0xf0 = 0; 0x00 stays 0x00 although 0xFF was written.
    expect([...readBytes(flash, 10, 3)]).toEqual([0b0010_1000, 0x00, 0x00]);
    // Neighbours are untouched.
    expect([...readBytes(flash, 9, 1)]).toEqual([0xff]);
    expect([...readBytes(flash, 13, 1)]).toEqual([0xff]);
    expect(flash.operations).toBe(2);
  });

  it('erase restores 0xFF on that page only and counts per page', () => {
    const flash = new SimFlash({ geometry: GEOMETRY });
    flash.program(256 + 5, bytes(1, 2, 3));
    flash.program(512, bytes(0));
    flash.erase(1);
    expect(readBytes(flash, 256, 256).every((b) => b === 0xff)).toBe(true);
    expect([...readBytes(flash, 512, 1)]).toEqual([0]);
    flash.erase(1);
    flash.erase(3);
    expect([...flash.eraseCounts]).toEqual([0, 2, 0, 1]);
    expect(flash.operations).toBe(5);
  });

  it('refuses a program that crosses a page boundary, changing nothing', () => {
    const flash = new SimFlash({ geometry: GEOMETRY });
    expect(() => flash.program(250, new Uint8Array(7).fill(0))).toThrow(RangeError);
    expect(readBytes(flash, 0, 1024).every((b) => b === 0xff)).toBe(true);
    expect(flash.operations).toBe(0);
    // Exactly to the end of a page is fine.
    flash.program(250, new Uint8Array(6).fill(0));
    expect([...readBytes(flash, 249, 8)]).toEqual([0xff, 0, 0, 0, 0, 0, 0, 0xff]);
  });

  it('refuses access outside the chip', () => {
    const flash = new SimFlash({ geometry: GEOMETRY });
    expect(() => flash.read(1020, new Uint8Array(5))).toThrow(RangeError);
    expect(() => flash.read(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => flash.read(1.5, new Uint8Array(1))).toThrow(RangeError);
    expect(() => flash.program(1024, bytes(0))).toThrow(RangeError);
    expect(() => flash.program(-1, bytes(0))).toThrow(RangeError);
    expect(() => flash.erase(4)).toThrow(RangeError);
    expect(() => flash.erase(-1)).toThrow(RangeError);
    expect(() => flash.erase(0.5)).toThrow(RangeError);
    expect(flash.operations).toBe(0);
    expect(() => new SimFlash({ geometry: GEOMETRY, image: new Uint8Array(100) })).toThrow(RangeError);
  });

  it('starts from a given image and erase counts', () => {
    const image = new Uint8Array(1024).fill(0xff);
    image[7] = 0x42;
    const flash = new SimFlash({ geometry: GEOMETRY, image, eraseCounts: Uint32Array.of(1, 2, 3, 4) });
    expect([...readBytes(flash, 7, 1)]).toEqual([0x42]);
    flash.erase(0);
    expect([...flash.eraseCounts]).toEqual([2, 2, 3, 4]);
  });

  it('wears out: past its endurance a page no longer erases clean, and others are unaffected', () => {
    const endurance = 5;
    const flash = new SimFlash({ geometry: GEOMETRY, endurance });
    for (let i = 0; i < endurance; i++) {
      flash.program(0, new Uint8Array(256).fill(0));
      flash.erase(0);
      expect(readBytes(flash, 0, 256).every((b) => b === 0xff)).toBe(true);
    }
    flash.program(0, new Uint8Array(256).fill(0));
    flash.erase(0); // erase number endurance + 1
    expect(flash.eraseCounts[0]).toBe(endurance + 1);
    const page = readBytes(flash, 0, 256);
    const stuck = page.filter((b) => b !== 0xff).length;
    expect(stuck).toBeGreaterThan(0);
    expect(stuck).toBeLessThan(256);
    // Erasing again does not help.
    flash.erase(0);
    expect(readBytes(flash, 0, 256).every((b) => b === 0xff)).toBe(false);
    // The neighbouring page still erases clean.
    flash.program(256, new Uint8Array(256).fill(0));
    flash.erase(1);
    expect(readBytes(flash, 256, 256).every((b) => b === 0xff)).toBe(true);
  });

  describe('power cuts', () => {
    const data = Uint8Array.from({ length: 16 }, (_, i) => i * 16 + (15 - i)); // 0x0f, 0x1e, ... 0xf0

    it.each([
      [0, 0],
      [0.5, 8],
      [1, 16],
    ])('a program torn at fraction %s leaves the first %i bytes written and throws PowerLossError', (fraction, done) => {
      const flash = new SimFlash({ geometry: GEOMETRY });
      flash.program(0, bytes(0)); // operation 1
      flash.armPowerCut({ atOperation: 2, fraction });
      flash.program(32, bytes(0)); // operation 2 from the arming point is the next but one
      expect(() => flash.program(64, data)).toThrow(PowerLossError);
      const after = readBytes(flash, 64, 16);
      for (let i = 0; i < done; i++) expect(after[i], `byte ${i}`).toBe(data[i]);
      // Bytes past the torn one are still erased; the torn one is at most partly programmed (only
      // bits the data clears may be cleared, and never a bit the data keeps).
      for (let i = done + 1; i < 16; i++) expect(after[i], `byte ${i}`).toBe(0xff);
      if (done < 16) {
        expect(after[done]! & data[done]!).toBe(data[done]);
      }
      expect(flash.operations).toBe(3);
    });

    it('once power is lost every program and erase throws until power is restored', () => {
      const flash = new SimFlash({ geometry: GEOMETRY });
      flash.armPowerCut({ atOperation: 1, fraction: 0.5 });
      expect(() => flash.erase(2)).toThrow(PowerLossError);
      const snapshot = flash.image.slice();
      const counts = flash.eraseCounts.slice();
      expect(() => flash.program(0, bytes(0))).toThrow(PowerLossError);
      expect(() => flash.erase(0)).toThrow(PowerLossError);
      expect(flash.image).toEqual(snapshot);
      expect(flash.eraseCounts).toEqual(counts);
      flash.restorePower();
      flash.program(0, bytes(0));
      flash.erase(1);
      expect([...readBytes(flash, 0, 1)]).toEqual([0]);
      // The cut fired once: it does not come back.
      flash.program(1, bytes(0));
      expect([...readBytes(flash, 1, 1)]).toEqual([0]);
    });

    it('a disarmed cut never fires', () => {
      const flash = new SimFlash({ geometry: GEOMETRY });
      flash.armPowerCut({ atOperation: 1, fraction: 0 });
      flash.disarmPowerCut();
      flash.program(0, bytes(0));
      flash.erase(0);
      expect(flash.operations).toBe(2);
    });

    it.each([0, 0.5, 1])('an erase torn at fraction %s erases that much of the page (from its start) and throws', (fraction) => {
      const flash = new SimFlash({ geometry: GEOMETRY });
      flash.program(256, new Uint8Array(256).fill(0x00));
      flash.armPowerCut({ atOperation: 1, fraction });
      expect(() => flash.erase(1)).toThrow(PowerLossError);
      const page = readBytes(flash, 256, 256);
      const erased = Math.floor(256 * fraction);
      expect(page.subarray(0, erased).every((b) => b === 0xff)).toBe(true);
      expect(page.subarray(erased).every((b) => b === 0x00)).toBe(true);
      if (fraction > 0 && fraction < 1) expect(page.some((b) => b === 0x00) && page.some((b) => b === 0xff)).toBe(true);
    });
  });

  it('reports every change, torn ones included, and nothing for reads or refused operations', () => {
    const changes: FlashChange[] = [];
    const flash = new SimFlash({ geometry: GEOMETRY, onChange: (change) => changes.push(change) });
    flash.read(0, new Uint8Array(4));
    flash.program(300, bytes(1, 2, 3));
    flash.erase(2);
    expect(() => flash.program(254, bytes(1, 2, 3))).toThrow(RangeError);
    flash.armPowerCut({ atOperation: 1, fraction: 0.5 });
    expect(() => flash.program(16, bytes(0, 0))).toThrow(PowerLossError);
    expect(changes).toEqual([
      { kind: 'program', address: 300, length: 3 },
      { kind: 'erase', page: 2 },
      { kind: 'program', address: 16, length: 2 },
    ]);
  });
});
