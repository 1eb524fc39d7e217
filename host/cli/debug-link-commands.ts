/**
 * `noegleviser device press|hold|display|advance|power-cut|power-on|battery|state`: the lab's
 * powers over a running emulator (or virtual board, or a rack's token) through the debug link's
 * client. They talk to the emulator's debug link, not to the token, so they are the host's
 * commands, mounted on `device` beside `emulate` and `board` (bin/cli.ts); the running emulators
 * come from the one reader of their announcements, host/bridge/discovery.ts.
 */
import { Command, Option } from 'commander';
import { DEBUG_ARGS, type DebugOp, type DebugResult, type DisplayResult } from '../../protocol/debug/messages.ts';
import { isEmulatorSerial, type EmulatorAnnouncement } from '../../protocol/discovery.ts';
import { debugCall, type DebugCallArgs } from '../bridge/debug-link.ts';
import { hostRuntimeDir, listEmulators } from '../bridge/discovery.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { usageError } from './errors.ts';

/** How a debug-link command names its token: the socket itself, or a running emulator's serial number. */
export interface DebugTarget {
  readonly debug?: string;
  readonly serial?: string;
}

/** How many running emulators an error lists by name before it points at `noegleviser list`. */
const LISTED_IN_ERRORS = 8;

function describeRunning(emulators: readonly EmulatorAnnouncement[]): string {
  const named = emulators.slice(0, LISTED_IN_ERRORS).map((e) => `${e.serial} (pid ${e.pid})`);
  const more = emulators.length - named.length;
  return named.join(', ') + (more > 0 ? ` and ${more} more (see \`noegleviser list\`)` : '');
}

/**
 * The debug link a command talks to: --debug as given; else the running emulator (or virtual
 * board, or rack token) with --serial; else the only one running. Several and none chosen is an
 * error that names them.
 */
export function chooseDebugLink(target: DebugTarget, runtimeDir = hostRuntimeDir()): string {
  if (target.debug !== undefined && target.serial !== undefined) throw usageError('NV_BAD_ARGUMENT', 'give --debug or --serial, not both');
  if (target.debug !== undefined) return target.debug;
  if (target.serial !== undefined && !isEmulatorSerial(target.serial)) {
    throw usageError('NV_BAD_ARGUMENT', `--serial must be 8 digits not starting with 0, not "${target.serial}"`);
  }
  const running = listEmulators(runtimeDir);
  if (target.serial !== undefined) {
    const chosen = running.filter((e) => e.serial === target.serial);
    if (chosen.length === 1) return chosen[0]!.debug;
    if (chosen.length > 1) {
      const sockets = chosen.map((e) => `${e.debug} (pid ${e.pid})`).join(', ');
      throw new CodedError('NV_SEVERAL_EMULATORS', `${chosen.length} running emulators have serial number ${target.serial}: choose one with --debug: ${sockets}`);
    }
    const others = running.length > 0 ? `; running: ${describeRunning(running)}` : ` (none is announced in ${runtimeDir})`;
    throw new CodedError('NV_NO_SUCH_EMULATOR', `no running emulator has serial number ${target.serial}${others}`);
  }
  if (running.length === 1) return running[0]!.debug;
  if (running.length === 0) {
    throw new CodedError(
      'NV_NO_EMULATOR',
      `no emulator is running (none is announced in ${runtimeDir}): start one with \`noegleviser device emulate\`, or name its debug link with --debug`,
    );
  }
  throw new CodedError('NV_SEVERAL_EMULATORS', `${running.length} emulators are running: ${describeRunning(running)}; choose one with --serial`);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250", "250ms", "30s", "2m", "1h", "1d" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw usageError('NV_BAD_ARGUMENT', `"${text}" is not a duration (e.g. 500ms, 30s, 2m, 1h)`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}

/** A number in the range the debug link takes for that argument; anything else is a usage error. */
function numberIn(name: string, range: { readonly min: number; readonly max: number }): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < range.min || value > range.max) {
      throw usageError('NV_BAD_ARGUMENT', `${name} must be a number from ${range.min} to ${range.max}, not "${text}"`);
    }
    return value;
  };
}

function withDebug<Op extends DebugOp>(target: DebugTarget, op: Op, ...args: DebugCallArgs<Op>): Promise<DebugResult<Op>> {
  return debugCall(chooseDebugLink(target), op, ...args);
}

function printDisplay(result: DisplayResult, json: boolean | undefined): void {
  process.stdout.write(json ? JSON.stringify(result) + '\n' : `${result.display.trim()}\n`);
}

/** The debug link's commands, for `device`. */
export function debugLinkCommands(): Command[] {
  // Which token: --debug SOCKET, or --serial N of a running one, or neither when only one runs.
  const debugOption = () => new Option('--debug <socket>', "the emulator's debug link (its ready line names it)");
  const serialOption = () => new Option('--serial <number>', 'the running emulator (or virtual board) with this serial number');
  const jsonOption = () => new Option('--json', 'print the whole result as JSON');
  const command = (name: string, description: string) => new Command(name).description(description).addOption(debugOption()).addOption(serialOption());

  return [
    command('press', 'press the button briefly; prints the display afterwards')
      .addOption(jsonOption())
      .action(async (o: DebugTarget & { json?: boolean }) => printDisplay(await withDebug(o, 'press'), o.json)),
    command('hold', 'hold the button (long enough for a hold unless --ms says otherwise)')
      .addOption(new Option('--ms <ms>', 'how long to hold').argParser(numberIn('--ms', DEBUG_ARGS.hold.ms)))
      .addOption(jsonOption())
      .action(async (o: DebugTarget & { ms?: number; json?: boolean }) => printDisplay(await withDebug(o, 'hold', o.ms === undefined ? {} : { ms: o.ms }), o.json)),
    command('display', 'print what the 7-segment display shows right now')
      .addOption(jsonOption())
      .action(async (o: DebugTarget & { json?: boolean }) => printDisplay(await withDebug(o, 'display'), o.json)),
    command('advance', "move the token's virtual clock forward (timers fire, the RTC moves)")
      .argument('<duration>', 'e.g. 500ms, 30s, 2m, 1h, 1d')
      .addOption(jsonOption())
      .action(async (duration: string, o: DebugTarget & { json?: boolean }) => {
        const result = await withDebug(o, 'advance', { ms: parseDuration(duration) });
        process.stdout.write(o.json ? JSON.stringify(result) + '\n' : `${new Date(result.clock).toISOString()}\n`);
      }),
    command('power-cut', 'cut power now, or during a coming flash write (--at-write); it comes back after --off-ms')
      .addOption(new Option('--at-write <n>', 'cut during the n-th flash program or erase from now').argParser(numberIn('--at-write', DEBUG_ARGS['power-cut'].atOperation)))
      .addOption(new Option('--fraction <f>', 'how much of that write is done, 0..1').argParser(numberIn('--fraction', DEBUG_ARGS['power-cut'].fraction)))
      .addOption(new Option('--off-ms <ms>', 'how long power stays off').argParser(numberIn('--off-ms', DEBUG_ARGS['power-cut'].offMs)))
      .addOption(jsonOption())
      .action(async (o: DebugTarget & { atWrite?: number; fraction?: number; offMs?: number; json?: boolean }) => {
        const result = await withDebug(o, 'power-cut', {
          ...(o.atWrite !== undefined && { atOperation: o.atWrite }),
          ...(o.fraction !== undefined && { fraction: o.fraction }),
          ...(o.offMs !== undefined && { offMs: o.offMs }),
        });
        process.stdout.write(o.json ? JSON.stringify(result) + '\n' : 'armed' in result ? `power cut armed for flash write ${result.atOperation}\n` : 'power cut\n');
      }),
    command('power-on', 'restore power after a cut').action(async (o: DebugTarget) => {
      await withDebug(o, 'power-on');
      process.stdout.write('power on\n');
    }),
    command('battery', 'set the battery charge')
      .argument('<percent>', '0..100')
      .action(async (percent: string, o: DebugTarget) => {
        const result = await withDebug(o, 'battery', { percent: numberIn('battery', DEBUG_ARGS.battery.percent)(percent) });
        process.stdout.write(`battery ${result.battery} %\n`);
      }),
    command('state', 'the simulated hardware: power, battery, clock, flash wear, the engine and its memory (JSON)').action(async (o: DebugTarget) => {
      process.stdout.write(JSON.stringify(await withDebug(o, 'state'), null, 2) + '\n');
    }),
  ];
}
