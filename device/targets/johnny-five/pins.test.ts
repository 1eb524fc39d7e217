/** `--pins`: the pin names of the wiring tables in hardware-notes.md, per board, and a coded error naming them otherwise. */
import { describe, expect, it } from 'vitest';
import { ARDUINO_PIN_FORMS, parsePins, RASPBERRY_PI_PIN_FORMS } from './pins.ts';

describe('parsePins', () => {
  it('an Arduino (firmata, and the virtual board, an Uno) takes numbers, D names, and A0..A5 as D14..D19', () => {
    for (const io of ['firmata', 'virtual'] as const) {
      expect(parsePins('button=D2,led=d13,data=12,clock=D11,cs=D10', io)).toEqual({ button: 2, led: 13, data: 12, clock: 11, cs: 10 });
      expect(parsePins('button=A0,buzzer=a5', io)).toEqual({ button: 14, buzzer: 19 });
      expect(parsePins('rs=D7,en=D8,d4=D9,d5=D10,d6=D11,d7=D12,address=0x3f', io)).toEqual({ rs: 7, en: 8, d4: 9, d5: 10, d6: 11, d7: 12, address: 0x3f });
    }
  });

  it('a Raspberry Pi takes GPIO names and header pins, as raspi-io names them', () => {
    expect(parsePins('button=GPIO17,led=gpio27,cs=P1-24,address=39', 'raspi')).toEqual({ button: 'GPIO17', led: 'GPIO27', cs: 'P1-24', address: 39 });
  });

  it('a pin the board does not name so is NV_BAD_ARGUMENT, saying which forms it takes', () => {
    const refused = (text: string, io: 'firmata' | 'virtual' | 'raspi') => {
      try {
        parsePins(text, io);
      } catch (error) {
        return error as Error & { code?: string };
      }
      throw new Error(`${text} was accepted on ${io}`);
    };
    for (const [text, io] of [['button=X2', 'firmata'], ['button=GPIO17', 'virtual'], ['button=A6', 'firmata'], ['button=-1', 'virtual']] as const) {
      const error = refused(text, io);
      expect(error.code).toBe('NV_BAD_ARGUMENT');
      expect(error.message).toContain(ARDUINO_PIN_FORMS);
    }
    for (const text of ['button=D2', 'button=17', 'button=A0']) {
      const error = refused(text, 'raspi');
      expect(error.code).toBe('NV_BAD_ARGUMENT');
      expect(error.message).toContain(RASPBERRY_PI_PIN_FORMS);
    }
    expect(refused('address=D2', 'virtual').message).toContain('I2C address such as 0x27');
    expect(refused('address=0x80', 'firmata').code).toBe('NV_BAD_ARGUMENT');
  });
});
