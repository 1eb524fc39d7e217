/**
 * `noegleviser enroll --all` (or `--ports a,b,c`): enrol every token found, each with a freshly
 * generated seed that goes to the token and the server and nowhere else (never to the terminal),
 * a few tokens at a time, with a progress bar on a terminal and a summary at the end. It shows the
 * tokens it found and asks first (on a terminal; `--yes` says yes beforehand).
 */
import cliProgress from 'cli-progress';
import type { OathMode } from '../../protocol/commands.ts';
import type { OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { PatientServerClient, enrollBatch, summarize, type BatchOutcome, type BatchTarget } from '../bridge/batch-enrolment.ts';
import { attachedTokens } from '../bridge/discovery.ts';
import { confirmation } from './confirm.ts';
import { CommandExit, usageError } from './errors.ts';
import { createOutput, type Output } from './output.ts';
import { otplib, parseSeed } from './seed-input.ts';
import { resolveEndpoint, type ServerCliOptions } from './server-options.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export const DEFAULT_BATCH_CONCURRENCY = 32;
export const MAX_BATCH_CONCURRENCY = 256;

/** Seed length per hash: the hash's own output size, as RFC 4226 and RFC 6238 recommend. */
export const GENERATED_SEED_BYTES: Record<OathAlgorithm, number> = { sha1: 20, sha256: 32, sha512: 64 };

export interface BatchEnrollOptions extends ServerCliOptions {
  all?: boolean;
  ports?: string;
  port?: string;
  serial?: string;
  yes?: boolean;
  concurrency: number;
  seed?: string;
  seedFile?: string;
  generate?: boolean;
  totp?: boolean;
  digits: number;
  algorithm: OathAlgorithm;
  period?: number;
  counter?: number;
  owner?: string;
  tokenOnly?: boolean;
  json?: boolean;
}

/** Whether the enroll command was asked for a batch. */
export function isBatch(options: BatchEnrollOptions): boolean {
  return Boolean(options.all) || options.ports !== undefined;
}

export async function runBatchEnrolment(options: BatchEnrollOptions): Promise<void> {
  if (options.port !== undefined || options.serial !== undefined) {
    throw usageError('NV_BAD_ARGUMENT', `${options.port !== undefined ? '--port' : '--serial'} names one token; a batch (--all) takes --ports a,b,c`);
  }
  if (options.seed !== undefined || options.seedFile !== undefined) {
    throw usageError('NV_BAD_ARGUMENT', 'a batch generates a fresh seed for every token: --seed and --seed-file are for one token');
  }
  if (options.tokenOnly) throw usageError('NV_BAD_ARGUMENT', "a batch's seeds go to the server and nowhere else: --token-only is for one token");
  if (options.owner !== undefined) throw usageError('NV_BAD_ARGUMENT', '--owner is for one token: assign batch tokens with `noegleviser token assign`');
  const mode: OathMode = options.totp ? 'totp' : 'hotp';
  if (mode === 'hotp' && options.period !== undefined) throw usageError('NV_BAD_ARGUMENT', '--period is for --totp tokens');
  if (mode === 'totp' && options.counter !== undefined) throw usageError('NV_BAD_ARGUMENT', '--counter is for --hotp tokens');
  const explicit = options.ports === undefined ? undefined : parsePortList(options.ports);
  const endpoint = resolveEndpoint(options);
  if (!endpoint) {
    throw usageError('NV_NO_SERVER', "a batch's generated seeds go to the server, never to the terminal: give --server URL, NOEGLEVISER_SERVER or the config file");
  }
  if (!endpoint.adminKey) {
    throw usageError('NV_NO_API_KEY', "enrolment needs the server's admin API key (--admin-key, NOEGLEVISER_ADMIN_KEY or the config file)");
  }
  const confirm = confirmation(options.yes, '--yes', 'enroll --all');
  const output = createOutput(Boolean(options.json));
  const server = new PatientServerClient(endpoint);
  // A server that cannot be reached is one error, not N failed tokens (and a wrong key stops the batch at its first refusal).
  await server.checkReachable();

  const targets: (BatchTarget & { where?: string })[] = explicit ?? (await findTokens(output));
  if (targets.length === 0) throw new CodedError('NV_NO_TOKENS', 'no tokens found: start an emulator, plug a token in, or name them with --ports');
  if (!options.yes) {
    output.note(`${targets.length} token${targets.length === 1 ? '' : 's'} to enrol, each with a new seed registered with ${endpoint.url} (a token already enrolled is left as it is):`);
    for (const target of targets) output.note(`  ${(target.serial ?? '-').padEnd(10)} ${target.where ?? target.port}`);
    await confirm.ask(`enrol ${targets.length === 1 ? 'it' : `these ${targets.length} tokens`}?`);
  }

  const progress = startProgress(targets.length);
  const outcomes = await enrollBatch(targets, {
    server,
    args: {
      mode,
      algorithm: options.algorithm,
      digits: options.digits,
      period: mode === 'totp' ? (options.period ?? 30) : undefined,
      counter: mode === 'hotp' ? options.counter : undefined,
    },
    newSecret: () => parseSeed(otplib().generateSecret({ length: GENERATED_SEED_BYTES[options.algorithm] }), 'base32', 'the generator'),
    concurrency: options.concurrency,
    onOutcome: (outcome) => progress.tick(outcome),
  }).finally(() => progress.stop());

  const summary = summarize(outcomes);
  output.result(summary, () => [
    `enrolled:         ${summary.enrolled.length}` + (summary.enrolled.length ? ` (registered with ${endpoint.url})` : ''),
    `already enrolled: ${summary.alreadyEnrolled.length}` + (summary.alreadyEnrolled.length ? ` (${summary.alreadyEnrolled.join(' ')})` : ''),
    `failed:           ${summary.failed.length}`,
    ...summary.failed.map((f) => `  ${f.serial ?? '-'} ${f.port}: ${f.message} [${f.code}]`),
  ]);
  if (summary.failed.length > 0) throw new CommandExit(1);
}

/** `--ports a,b,c`: each a serial port, hid+udp://… or hid:…, once. */
function parsePortList(text: string): BatchTarget[] {
  const ports = text
    .split(',')
    .map((port) => port.trim())
    .filter((port) => port !== '');
  if (ports.length === 0) throw usageError('NV_BAD_ARGUMENT', '--ports takes a comma-separated list of tokens, e.g. /dev/pts/3,/dev/pts/4');
  return [...new Set(ports)].map((port) => ({ port }));
}

/** The attached tokens (running emulators, USB HID tokens), as batch targets. */
async function findTokens(output: Output): Promise<(BatchTarget & { where?: string })[]> {
  const { tokens, warnings } = await attachedTokens();
  for (const warning of warnings) output.note(`warning: ${warning}`);
  return tokens;
}

interface Progress {
  tick(outcome: BatchOutcome): void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise (a log or a pipe gets the summary only). */
function startProgress(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { tick: () => {}, stop: () => {} };
  const counts = { enrolled: 0, already: 0, failed: 0 };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'enrolling {bar} {value}/{total} tokens | {enrolled} enrolled, {already} already enrolled, {failed} failed | {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, counts);
  return {
    tick(outcome) {
      if (outcome.status === 'enrolled') counts.enrolled++;
      else if (outcome.status === 'already-enrolled') counts.already++;
      else counts.failed++;
      bar.increment(1, counts);
    },
    stop: () => bar.stop(),
  };
}
