/**
 * The bridge's commands: a thin layer over host/bridge. Each opens the token named by --port (or
 * picked by --serial, or the one attached), does one thing, prints the result (or JSON with
 * --json) and closes the port.
 */
import { Command, Option } from 'commander';
import { MAX_SPEED, MAX_VOLUME, MIN_SPEED, MIN_VOLUME, type AudioSettings, type EnrollArgs, type OathMode, type TokenInfo } from '../../protocol/commands.ts';
import { bytesToHex } from '../../protocol/bytes.ts';
import { MAX_DIGITS, MIN_DIGITS, OATH_ALGORITHMS, type OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { discover, type FoundPort } from '../bridge/discovery.ts';
import { enrollWithServer } from '../bridge/enrolment.ts';
import { ClockAheadError, connectToken, enroll, formatClockOffset, readClock, readInfo, setAudio, setPressEvents, syncClock, waitForPress, wipe, type ClockSync } from '../bridge/operations.ts';
import { ServerClient } from '../bridge/server-client.ts';
import type { TokenSession } from '../bridge/session.ts';
import type { TokenView } from '../api/tokens.ts';
import { confirmation } from './confirm.ts';
import { usageError, wholeNumber } from './errors.ts';
import { createOutput, table } from './output.ts';
import { addTokenChoice, withToken, type TokenChoice } from './token-choice.ts';
import { DEFAULT_BATCH_CONCURRENCY, GENERATED_SEED_BYTES, MAX_BATCH_CONCURRENCY, isBatch, runBatchEnrolment, type BatchEnrollOptions } from './batch-enroll.ts';
import { addServerOptions, resolveEndpoint, type ServerCliOptions } from './server-options.ts';
import { RECOMMENDED_MIN_SECRET_BYTES, encodeBase32, otplib, parseSeed, readSeedFile, type SeedFormat } from './seed-input.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { terminalQr } from '../seed-files/otpauth-qr.ts';

interface PortOptions extends TokenChoice {
  timeout?: string;
}

const jsonOption = () => new Option('--json', 'print the result as JSON');

function seconds(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback * 1000;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw usageError('NV_BAD_ARGUMENT', `--timeout must be a number of seconds, not "${text}"`);
  return Number(text) * 1000;
}

export function infoLines(info: TokenInfo): string[] {
  return table({
    serial: info.serial,
    model: `${info.model} (${info.hardware})`,
    firmware: info.firmware,
    protocol: `v${info.proto}`,
    enrolled: info.enrolled,
    mode: info.mode?.toUpperCase(),
    algorithm: info.algorithm?.toUpperCase().replace('SHA', 'SHA-'),
    digits: info.digits,
    period: info.period === undefined ? undefined : `${info.period} s`,
    counter: info.counter,
    battery: `${info.battery} %`,
    clock: new Date(info.clock).toISOString(),
    'press events': info.push ? 'on' : 'off',
    speaker: info.volume === undefined ? undefined : speakerLine({ volume: info.volume, speed: info.speed ?? 3 }),
  });
}

/** "volume 3 of 5, speed 3 of 5", or "silent (volume 0), speed 3 of 5". */
export function speakerLine({ volume, speed }: AudioSettings): string {
  return `${volume === MIN_VOLUME ? `silent (volume ${MIN_VOLUME})` : `volume ${volume} of ${MAX_VOLUME}`}, speed ${speed} of ${MAX_SPEED}`;
}

export function bridgeCommands(): Command[] {
  const list = new Command('list')
    .description('list running emulated tokens (by process: a rack runs several), USB HID tokens and serial ports')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      const output = createOutput(Boolean(options.json));
      const { ports, warnings } = await discover();
      for (const warning of warnings) output.note(`warning: ${warning}`);
      output.result({ ports, warnings }, () => (ports.length === 0 ? ['no tokens or serial ports found'] : listLines(ports)));
    });

  const info = addTokenChoice(new Command('info').description("show the token's identity, enrolment and state (never its seed)"))
    .addOption(jsonOption())
    .action((options: PortOptions) =>
      withToken(options, async ({ session }, output) => {
        const value = await readInfo(session);
        output.result(value, () => infoLines(value));
      }),
    );

  const enrollCommand = addServerOptions(
    new Command('enroll')
      .description(
        'write a seed to the token (once: re-enrolment needs a wipe); with a server, register it there in the same step. ' +
          'With --all, enrol every token found (running emulators, USB HID tokens), each with a generated seed that only the token and the server get',
      )
      .addOption(new Option('-p, --port <path>', 'the token: a serial port, hid+udp://HOST:PORT (an emulator prints both) or hid:PATH (default: the one token attached)').conflicts('serial'))
      .addOption(new Option('--serial <serial>', 'the attached token (emulator or USB HID) with this serial number'))
      .addOption(new Option('--all', 'enrol every token found, each with a freshly generated seed (needs a server); shows them and asks first'))
      .addOption(new Option('--yes', 'with --all: enrol without asking'))
      .addOption(new Option('--ports <list>', 'a batch of these tokens (comma-separated) instead of every token found'))
      .addOption(
        new Option('--concurrency <n>', 'with --all: how many tokens are enrolled at once')
          .argParser(wholeNumber('--concurrency', 1, MAX_BATCH_CONCURRENCY))
          .default(DEFAULT_BATCH_CONCURRENCY),
      )
      .addOption(new Option('--seed <hex>', 'the seed, in hex (prefer --seed-file: a command line ends up in shell history)'))
      .addOption(new Option('--seed-file <path>', 'read the seed from a file, or - for standard input'))
      .addOption(new Option('--seed-format <format>', 'how --seed-file is written').choices(['hex', 'base32']).default('hex'))
      .addOption(new Option('--generate', 'generate a random seed and print it once, with an otpauth:// URI'))
      .addOption(new Option('--hotp', 'event-based codes, one per press (the default, as on a NemID token)').conflicts('totp'))
      .addOption(new Option('--totp', 'time-based codes'))
      .addOption(new Option('--digits <n>', 'code length').argParser(wholeNumber('--digits', MIN_DIGITS, MAX_DIGITS)).default(6))
      .addOption(new Option('--algorithm <name>', 'HMAC hash').choices([...OATH_ALGORITHMS]).default('sha1'))
      .addOption(new Option('--period <seconds>', 'TOTP time step').argParser(wholeNumber('--period', 1, 3600)))
      .addOption(new Option('--counter <n>', 'HOTP counter to start from').argParser(wholeNumber('--counter', 0, Number.MAX_SAFE_INTEGER)))
      .addOption(new Option('--owner <person>', "assign the token to this person of the server's login service (NemID number or user-id)"))
      .addOption(new Option('--token-only', 'write the seed to the token only, even if a server is configured').conflicts('replace'))
      .addOption(new Option('--replace', "replace the server's record of this token (left from before a wipe) instead of refusing"))
      .addOption(new Option('--allow-short-seed', `accept a seed under ${RECOMMENDED_MIN_SECRET_BYTES} bytes (RFC 4226 asks for 128 bits)`))
      .addOption(jsonOption()),
  ).action(async (options: PortOptions & EnrollOptions & ServerCliOptions & { owner?: string; tokenOnly?: boolean; replace?: boolean; all?: boolean; yes?: boolean; ports?: string; concurrency: number }) => {
    if (isBatch(options as BatchEnrollOptions)) return runBatchEnrolment(options as BatchEnrollOptions);
    if (options.yes) throw usageError('NV_BAD_ARGUMENT', '--yes is for a batch (--all): enrolling one token asks nothing');
    const plan = planEnrolment(options);
    const endpoint = options.tokenOnly ? undefined : resolveEndpoint(options);
    if (options.replace && !endpoint) throw usageError('NV_NO_SERVER', '--replace replaces a server record: give --server URL, NOEGLEVISER_SERVER or the config file');
    await withToken(options, async (token, output, address) => {
      const { identity } = token;
      const result = endpoint
        ? await enrollWithServer(token, new ServerClient(endpoint), plan.args, { owner: options.owner, replace: options.replace, allowShortSeed: options.allowShortSeed, reconnect: () => connectToken(address) })
        : await enroll(token.session, plan.args);
      plan.args.secret.fill(0);
      const shown = plan.generated && {
        hex: plan.generated.hex,
        base32: plan.generated.base32,
        uri: otplib().generateURI({
          strategy: plan.args.mode,
          issuer: 'noegleviser',
          label: identity.serial,
          secret: plan.generated.base32,
          algorithm: plan.args.algorithm,
          digits: plan.args.digits as 6 | 7 | 8,
          period: plan.args.period,
          counter: plan.args.mode === 'hotp' ? (plan.args.counter ?? 0) : undefined,
        }),
      };
      const summary = {
        serial: identity.serial,
        mode: plan.args.mode,
        algorithm: plan.args.algorithm,
        digits: plan.args.digits,
        period: plan.args.period,
        counter: result.counter,
        server: endpoint?.url ?? null,
        ...(shown ? { seed: shown } : {}),
      };
      output.result(summary, () => [
        `enrolled token ${identity.serial}: ${plan.args.mode.toUpperCase()} ${plan.args.algorithm.toUpperCase()} ${plan.args.digits} digits` +
          (plan.args.period ? `, ${plan.args.period} s steps` : `, counter ${result.counter ?? 0}`) +
          (endpoint ? `; registered with ${endpoint.url}` : ''),
        ...(shown
          ? [
              'the seed is shown this once; the token will never reveal it:',
              ...table({ hex: shown.hex, base32: shown.base32, uri: shown.uri }),
              // The Key Uri Format allows 6 or 8 digits: an authenticator app may refuse a 7-digit token's URI, so it gets no code to scan.
              ...(plan.args.digits === 7
                ? ['no QR code: the Key Uri Format allows 6 or 8 digits, and authenticator apps may refuse this 7-digit URI']
                : ['scan it into an authenticator app:', terminalQr(shown.uri).trimEnd()]),
            ]
          : []),
      ]);
    });
  });

  const code = addTokenChoice(new Command('code').description('wait for the next button press and print the code it shows'))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for a press').default('60'))
    .addOption(jsonOption())
    .action((options: PortOptions) => {
      const timeoutMs = seconds(options.timeout, 60);
      return withToken(options, async ({ session }, output) => {
        const pressed = await waitForPress(session, timeoutMs, () => output.note('press the button on the token…'));
        output.result(pressed, () => [
          pressed.code +
            (pressed.counter !== undefined ? `  (counter ${pressed.counter})` : `  (time step ${pressed.step})`) +
            (pressed.lowBattery ? '  battery low' : ''),
        ]);
      });
    });

  const time = new Command('time').description("read or set the token's real-time clock");
  addTokenChoice(time.command('show').description("print the token's clock and how far it is from this host's"))
    .addOption(jsonOption())
    .action((options: PortOptions) =>
      withToken(options, async ({ session }, output) => {
        const { offsetMs, roundTripMs } = await readClock(session);
        const clock = Date.now() + offsetMs;
        output.result({ clock, offsetMs, roundTripMs }, () =>
          table({ clock: new Date(clock).toISOString(), offset: `${formatOffset(offsetMs)} from this host (± ${Math.ceil(roundTripMs / 2)} ms)` }),
        );
      }),
    );
  addTokenChoice(time.command('sync').description("set the token's clock from this host's (setting one that runs ahead back needs --force)"))
    .addOption(new Option('--force', 'also set a clock that runs ahead back'))
    .addOption(jsonOption())
    .action((options: PortOptions & { force?: boolean }) =>
      withToken(options, async ({ session }, output) => {
        const sync = await setClock(session, options.force);
        output.result(sync, () => table({ before: formatOffset(sync.offsetBeforeMs), after: formatOffset(sync.offsetAfterMs) }));
      }),
    );

  const wipeCommand = addServerOptions(
    addTokenChoice(new Command('wipe').description("erase the token's seed (asks first; the token asks for its button to be held); with a server, say what it still holds"))
      .addOption(new Option('--force', 'do not ask'))
      .addOption(jsonOption()),
  ).action(async (options: PortOptions & ServerCliOptions & { force?: boolean }) => {
    const confirm = confirmation(options.force, '--force', 'wipe');
    const endpoint = resolveEndpoint(options);
    await withToken(options, async ({ session, identity }, output) => {
      const serial = identity.serial;
      await confirm.ask(`erase the seed of token ${serial}? it cannot be read back, and codes from it stop`);
      await wipe(session, (timeoutMs) => output.note(`hold the button on token ${serial} to confirm the wipe (${Math.round(timeoutMs / 1000)} s)…`));
      const server = endpoint ? await serverRecordAfterWipe(new ServerClient(endpoint), serial) : undefined;
      output.result({ serial, wiped: true, ...(server ? { server } : {}) }, () => [`token ${serial} wiped: it holds no seed`, ...(server ? serverRecordLines(serial, server) : [])]);
    });
  });

  const events = addTokenChoice(new Command('events').description('switch the press events the token pushes to a host on or off').argument('<state>', 'on or off'))
    .addOption(jsonOption())
    .action((state: string, options: PortOptions) => {
      if (state !== 'on' && state !== 'off') throw usageError('NV_BAD_ARGUMENT', `events takes "on" or "off", not "${state}"`);
      return withToken(options, async ({ session }, output) => {
        const push = await setPressEvents(session, state === 'on');
        output.result({ push }, () => [`press events ${push ? 'on' : 'off'}`]);
      });
    });

  const audio = addTokenChoice(
    new Command('audio').description(
      "read the token's speaker settings, or set its volume (0 silent .. 5) and speed (1 slowest .. 5, 3 the voice's own pace); an audio code reader speaks each code it shows",
    ),
  )
    .addOption(new Option('--volume <n>', `${MIN_VOLUME} (silent) to ${MAX_VOLUME} (loudest), each level 6 dB above the one below`).argParser(wholeNumber('--volume', MIN_VOLUME, MAX_VOLUME)))
    .addOption(new Option('--speed <n>', `${MIN_SPEED} (slowest) to ${MAX_SPEED} (fastest)`).argParser(wholeNumber('--speed', MIN_SPEED, MAX_SPEED)))
    .addOption(jsonOption())
    .action((options: PortOptions & { volume?: number; speed?: number }) =>
      withToken(options, async ({ session }, output) => {
        const settings = await setAudio(session, {
          ...(options.volume !== undefined && { volume: options.volume }),
          ...(options.speed !== undefined && { speed: options.speed }),
        });
        output.result(settings, () => [`speaker: ${speakerLine(settings)}`]);
      }),
    );

  return [list, info, enrollCommand, code, time, wipeCommand, events, audio];
}

interface EnrollOptions {
  seed?: string;
  seedFile?: string;
  seedFormat: SeedFormat;
  generate?: boolean;
  hotp?: boolean;
  totp?: boolean;
  digits: number;
  algorithm: OathAlgorithm;
  period?: number;
  counter?: number;
  allowShortSeed?: boolean;
}

interface EnrolmentPlan {
  readonly args: EnrollArgs;
  readonly generated?: { hex: string; base32: string };
}

/** Checks the enrol options before the port is touched, and fixes where the seed comes from. */
function planEnrolment(options: EnrollOptions): EnrolmentPlan {
  const sources = [options.seed !== undefined, options.seedFile !== undefined, Boolean(options.generate)].filter(Boolean).length;
  if (sources !== 1) throw usageError('NV_BAD_ARGUMENT', 'give exactly one of --seed, --seed-file or --generate');
  const mode: OathMode = options.totp ? 'totp' : 'hotp';
  if (mode === 'hotp' && options.period !== undefined) throw usageError('NV_BAD_ARGUMENT', '--period is for --totp tokens');
  if (mode === 'totp' && options.counter !== undefined) throw usageError('NV_BAD_ARGUMENT', '--counter is for --hotp tokens');
  let secret: Uint8Array;
  let generated: EnrolmentPlan['generated'];
  if (options.generate) {
    const base32 = otplib().generateSecret({ length: GENERATED_SEED_BYTES[options.algorithm] });
    secret = parseSeed(base32, 'base32', 'the generator');
    generated = { hex: bytesToHex(secret), base32 };
  } else if (options.seed !== undefined) {
    secret = parseSeed(options.seed, 'hex', '--seed');
  } else {
    secret = readSeedFile(options.seedFile!, options.seedFormat);
  }
  if (secret.length < RECOMMENDED_MIN_SECRET_BYTES && !options.allowShortSeed) {
    throw usageError(
      'NV_SHORT_SEED',
      `the seed is ${secret.length} bytes; RFC 4226 asks for at least ${RECOMMENDED_MIN_SECRET_BYTES} (use --allow-short-seed to enrol it anyway)`,
    );
  }
  return {
    args: {
      secret,
      mode,
      algorithm: options.algorithm,
      digits: options.digits,
      period: mode === 'totp' ? (options.period ?? 30) : undefined,
      counter: mode === 'hotp' ? options.counter : undefined,
    },
    generated,
  };
}

function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  return `${sign}${(Math.abs(ms) / 1000).toFixed(3)} s`;
}

/** Sets the token's clock; a clock further ahead than a round trip explains is a coded refusal that names --force. */
export async function setClock(session: TokenSession, force: boolean | undefined): Promise<ClockSync> {
  try {
    return await syncClock(session, { force });
  } catch (error) {
    if (error instanceof ClockAheadError) {
      throw new CodedError(
        'NV_CLOCK_AHEAD',
        `the token's clock is ${formatClockOffset(error.offsetMs)} ahead of this host's, more than the ${error.toleranceMs} ms a round trip explains: --force sets it back`,
      );
    }
    throw error;
  }
}

/** Emulators by process (a rack is one process running several), then USB HID tokens, then serial ports. */
function listLines(ports: FoundPort[]): string[] {
  const lines: string[] = [];
  const emulators = ports.filter((p) => p.kind === 'emulator');
  for (const pid of [...new Set(emulators.map((e) => e.pid))]) {
    const group = emulators.filter((e) => e.pid === pid);
    lines.push(group.length > 1 ? `emulator process ${pid}, a rack of ${group.length} tokens:` : `emulator process ${pid}:`);
    for (const e of group) lines.push(`  ${(e.serial ?? '-').padEnd(10)} ${e.port.padEnd(12)} ${(e.hid ?? '').padEnd(28)} debug ${e.debug ?? '-'}`);
  }
  const hid = ports.filter((p) => p.kind === 'hid');
  if (hid.length) lines.push('USB HID tokens:', ...hid.map((p) => `  ${(p.serial ?? '-').padEnd(10)} ${p.port.padEnd(28)} ${p.description}`));
  const serial = ports.filter((p) => p.kind === 'serial');
  if (serial.length) lines.push('serial ports (not probed: name one with --port):', ...serial.map((p) => `  ${p.port.padEnd(28)} ${(p.serial ?? '-').padEnd(10)} ${p.description}`));
  return lines;
}

/** What the server still holds for a wiped token: its record, or null; undefined when it cannot be asked. */
interface ServerRecordReport {
  readonly url: string;
  readonly record?: TokenView | null;
  readonly error?: string;
}

async function serverRecordAfterWipe(server: ServerClient, serial: string): Promise<ServerRecordReport> {
  try {
    return { url: server.url, record: (await server.getToken(serial)) ?? null };
  } catch (error) {
    return { url: server.url, error: (error as Error).message };
  }
}

function serverRecordLines(serial: string, report: ServerRecordReport): string[] {
  if (report.error !== undefined) return [`the server at ${report.url} could not be asked about ${serial}: ${report.error}`];
  if (report.record === null) return [`the server at ${report.url} has no record of ${serial}: enrol it again with noegleviser enroll`];
  const record = report.record!;
  return [
    `the server at ${report.url} still has a record of ${serial} (${record.kind.toUpperCase()}, ${record.state}${record.owner ? `, owner ${record.owner}` : ''}), which codes from a new seed will not match:`,
    `  remove it with \`noegleviser token delete ${serial}\`, or enrol the token again with \`noegleviser enroll --replace …\``,
  ];
}
