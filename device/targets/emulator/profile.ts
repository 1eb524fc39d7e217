/**
 * An emulated token's profile directory: everything that outlives the process.
 *
 *   flash.bin        the flash chip's image, byte for byte (hexdump it)
 *   flash-wear.bin   erase count of every page, u32 little-endian (the chip's physical wear)
 *   token.json       the simulated hardware: geometry, endurance, clock drift, battery, RTC
 *   emulator.lock    the pid of the emulator using the profile
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../../protocol/discovery.ts';
import type { FlashGeometry } from '../../hal/flash.ts';
import { DEFAULT_ENDURANCE, DEFAULT_GEOMETRY, SimFlash } from '../../sim/sim-flash.ts';
import { CodedError } from '../../../protocol/coded-error.ts';

export interface HardwareState {
  readonly format: 1;
  readonly geometry: FlashGeometry;
  readonly endurance: number;
  readonly driftPpm: number;
  readonly battery: number;
  /** The RTC read `unixMs` when the host's clock read `hostMs`. */
  readonly rtc: { readonly unixMs: number; readonly hostMs: number };
}

export class ProfileError extends CodedError {
  constructor(
    override readonly code: 'NV_PROFILE_BUSY' | 'NV_PROFILE_INVALID',
    message: string,
  ) {
    super(code, message);
    this.name = 'ProfileError';
  }
}

export interface HardwareDefaults {
  readonly geometry?: FlashGeometry;
  readonly endurance?: number;
  readonly driftPpm?: number;
  readonly battery?: number;
}

export class Profile {
  private lockHeld = false;

  constructor(readonly dir: string) {}

  get flashPath(): string {
    return path.join(this.dir, 'flash.bin');
  }

  private get wearPath(): string {
    return path.join(this.dir, 'flash-wear.bin');
  }

  private get hardwarePath(): string {
    return path.join(this.dir, 'token.json');
  }

  private get lockPath(): string {
    return path.join(this.dir, 'emulator.lock');
  }

  /** Creates the directory if needed and takes the lock; a lock left by a dead process is taken over. */
  lock(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
        this.lockHeld = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number(fs.readFileSync(this.lockPath, 'utf8').trim());
        if (Number.isInteger(owner) && owner > 0 && isAlive(owner, process)) {
          throw new ProfileError('NV_PROFILE_BUSY', `profile ${this.dir} is in use by emulator process ${owner}`);
        }
        fs.rmSync(this.lockPath, { force: true });
      }
    }
    throw new ProfileError('NV_PROFILE_BUSY', `could not lock profile ${this.dir}`);
  }

  unlock(): void {
    if (this.lockHeld) fs.rmSync(this.lockPath, { force: true });
    this.lockHeld = false;
  }

  /** The hardware state, created from `defaults` on first use. Explicit defaults override drift and battery. */
  loadHardware(defaults: HardwareDefaults, hostNowMs: number): HardwareState {
    let state: HardwareState;
    if (fs.existsSync(this.hardwarePath)) {
      state = parseHardware(fs.readFileSync(this.hardwarePath, 'utf8'), this.hardwarePath);
      if (defaults.geometry && !sameGeometry(defaults.geometry, state.geometry)) {
        throw new ProfileError('NV_PROFILE_INVALID', `profile ${this.dir} was made with another flash geometry`);
      }
    } else {
      state = {
        format: 1,
        geometry: defaults.geometry ?? DEFAULT_GEOMETRY,
        endurance: defaults.endurance ?? DEFAULT_ENDURANCE,
        driftPpm: 0,
        battery: 100,
        rtc: { unixMs: hostNowMs, hostMs: hostNowMs },
      };
    }
    state = {
      ...state,
      driftPpm: defaults.driftPpm ?? state.driftPpm,
      battery: defaults.battery ?? state.battery,
    };
    this.saveHardware(state);
    return state;
  }

  saveHardware(state: HardwareState): void {
    const temporary = `${this.hardwarePath}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n');
    fs.renameSync(temporary, this.hardwarePath);
  }

  /** The flash chip, its image mirrored to flash.bin on every program and erase. */
  openFlash(state: HardwareState): { flash: SimFlash; close(): void } {
    const size = state.geometry.pageSize * state.geometry.pageCount;
    if (!fs.existsSync(this.flashPath)) fs.writeFileSync(this.flashPath, new Uint8Array(size).fill(0xff));
    const image = new Uint8Array(fs.readFileSync(this.flashPath));
    if (image.length !== size) {
      throw new ProfileError('NV_PROFILE_INVALID', `${this.flashPath} is ${image.length} bytes, expected ${size}`);
    }
    const eraseCounts = new Uint32Array(state.geometry.pageCount);
    if (fs.existsSync(this.wearPath)) {
      const wear = fs.readFileSync(this.wearPath);
      for (let page = 0; page < eraseCounts.length && page * 4 + 4 <= wear.length; page++) eraseCounts[page] = wear.readUInt32LE(page * 4);
    }
    const flashFd = fs.openSync(this.flashPath, 'r+');
    const wearFd = fs.openSync(this.wearPath, fs.existsSync(this.wearPath) ? 'r+' : 'w+');
    const flash = new SimFlash({
      geometry: state.geometry,
      endurance: state.endurance,
      image,
      eraseCounts,
      onChange: (change) => {
        if (change.kind === 'program') {
          fs.writeSync(flashFd, image, change.address, change.length, change.address);
        } else {
          const base = change.page * state.geometry.pageSize;
          fs.writeSync(flashFd, image, base, state.geometry.pageSize, base);
          fs.writeSync(wearFd, new Uint8Array(eraseCounts.buffer, change.page * 4, 4), 0, 4, change.page * 4);
        }
      },
    });
    return {
      flash,
      close: () => {
        fs.closeSync(flashFd);
        fs.closeSync(wearFd);
      },
    };
  }
}

function parseHardware(text: string, file: string): HardwareState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProfileError('NV_PROFILE_INVALID', `${file} is not valid JSON`);
  }
  const s = value as Partial<HardwareState> | null;
  const ok =
    s !== null &&
    typeof s === 'object' &&
    s.format === 1 &&
    Number.isInteger(s.geometry?.pageSize) &&
    Number.isInteger(s.geometry?.pageCount) &&
    Number.isInteger(s.endurance) &&
    typeof s.driftPpm === 'number' &&
    typeof s.battery === 'number' &&
    typeof s.rtc?.unixMs === 'number' &&
    typeof s.rtc?.hostMs === 'number';
  if (!ok) throw new ProfileError('NV_PROFILE_INVALID', `${file} is not a token hardware description`);
  return s as HardwareState;
}

function sameGeometry(a: FlashGeometry, b: FlashGeometry): boolean {
  return a.pageSize === b.pageSize && a.pageCount === b.pageCount;
}
