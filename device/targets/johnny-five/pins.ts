/**
 * Which pin does what: defaults for an Arduino on StandardFirmata and for a Raspberry Pi, and the
 * `--pins name=pin,…` a lab uses for its own wiring. See hardware-notes.md for the wiring tables.
 */
import { CodedError } from '../../../protocol/coded-error.ts';
/** Which board drives the token, and which display it has. */
export type BoardIo = 'firmata' | 'raspi' | 'virtual';
export type BoardDisplay = 'max7219' | 'lcd';
export const BOARD_IOS: readonly BoardIo[] = ['firmata', 'raspi', 'virtual'];
export const BOARD_DISPLAYS: readonly BoardDisplay[] = ['max7219', 'lcd'];

export type PinName = 'button' | 'led' | 'buzzer' | 'data' | 'clock' | 'cs' | 'rs' | 'en' | 'd4' | 'd5' | 'd6' | 'd7' | 'address';
export const PIN_NAMES: readonly PinName[] = ['button', 'led', 'buzzer', 'data', 'clock', 'cs', 'rs', 'en', 'd4', 'd5', 'd6', 'd7', 'address'];

/** A pin is a number (Arduino) or a name such as GPIO17 (Raspberry Pi); `address` is an I2C address. */
export type Pin = number | string;
export type PinMap = Readonly<Partial<Record<PinName, Pin>>>;

export const ARDUINO_PINS: PinMap = {
  button: 2,
  led: 13,
  data: 12,
  clock: 11,
  cs: 10,
  rs: 7,
  en: 8,
  d4: 9,
  d5: 10,
  d6: 11,
  d7: 12,
  address: 0x27,
};

export const RASPBERRY_PI_PINS: PinMap = {
  button: 'GPIO17',
  led: 'GPIO27',
  data: 'GPIO10',
  clock: 'GPIO11',
  cs: 'GPIO8',
  rs: 'GPIO25',
  en: 'GPIO24',
  d4: 'GPIO23',
  d5: 'GPIO18',
  d6: 'GPIO15',
  d7: 'GPIO14',
  address: 0x27,
};

/** How a pin may be written, as the wiring tables in hardware-notes.md name them. */
export const ARDUINO_PIN_FORMS = 'a pin number (2), a digital pin (D2) or an analog pin used as a digital one (A0..A5, the Uno\'s and Nano\'s D14..D19)';
export const RASPBERRY_PI_PIN_FORMS = 'a GPIO name (GPIO17) or a header pin (P1-11)';

/** A0..A5 are D14..D19 on an ATmega328P board (Uno, Nano), the boards the wiring table is for. */
const FIRST_ANALOG_PIN = 14;

function parsePin(name: PinName, value: string, io: BoardIo): Pin {
  if (name === 'address') {
    if (/^(0x[0-9a-f]{1,2}|\d{1,3})$/i.test(value) && Number(value) <= 0x7f) return Number(value);
    throw new CodedError('NV_BAD_ARGUMENT', `--pins: address is an I2C address such as 0x27, not "${value}"`);
  }
  if (io === 'raspi') {
    const gpio = /^gpio(\d{1,2})$/i.exec(value);
    if (gpio) return `GPIO${Number(gpio[1])}`;
    const header = /^p1-(\d{1,2})$/i.exec(value);
    if (header) return `P1-${Number(header[1])}`;
    throw new CodedError('NV_BAD_ARGUMENT', `--pins: ${name}=${value} is no Raspberry Pi pin: write ${RASPBERRY_PI_PIN_FORMS}`);
  }
  const digital = /^d?(\d{1,3})$/i.exec(value);
  if (digital) return Number(digital[1]);
  const analog = /^a([0-5])$/i.exec(value);
  if (analog) return FIRST_ANALOG_PIN + Number(analog[1]);
  throw new CodedError('NV_BAD_ARGUMENT', `--pins: ${name}=${value} is no Arduino pin: write ${ARDUINO_PIN_FORMS}`);
}

/** "button=D3,cs=9,address=0x3f" → the map it describes, each pin as `io`'s driver takes it. */
export function parsePins(text: string, io: BoardIo): PinMap {
  const pins: Partial<Record<PinName, Pin>> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z0-9]+)=([A-Za-z0-9-]+)$/.exec(part);
    if (!match) throw new CodedError('NV_BAD_ARGUMENT', `--pins takes name=pin pairs separated by commas (e.g. button=D2,cs=D10), not "${part}"`);
    const [, name, value] = match as unknown as [string, string, string];
    if (!(PIN_NAMES as readonly string[]).includes(name)) throw new CodedError('NV_BAD_ARGUMENT', `--pins: "${name}" is not one of ${PIN_NAMES.join(', ')}`);
    pins[name as PinName] = parsePin(name as PinName, value, io);
  }
  return pins;
}
