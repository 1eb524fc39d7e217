/**
 * The bridge against the validation server: `sync` a token with its server record, `verify` a code,
 * `watch` a token and relay every press to the server, `resync` a token that is not connected.
 */
import { Command, Option } from 'commander';
import { connectToken, readInfo } from '../bridge/operations.ts';
import type { ServerClient } from '../bridge/server-client.ts';
import type { TokenSession } from '../bridge/session.ts';
import type { VerifyOutcome } from '../server/token-service.ts';
import { CommandExit, usageError } from './errors.ts';
import { createOutput, table } from './output.ts';
import { addServerOptions, requireServer, type ServerCliOptions } from './server-options.ts';
import { setClock } from './bridge-commands.ts';
import { addTokenChoice, chooseAddress, type TokenChoice } from './token-choice.ts';
import { CodedError } from '../../protocol/coded-error.ts';

const CODE = /^[A-Za-z0-9]{1,64}$/;

function checkCode(code: string): string {
  if (!CODE.test(code)) throw usageError('NV_BAD_CODE', 'a code is the digits the token shows (or a temporary password)');
  return code;
}

export function describeOutcome(code: string, outcome: VerifyOutcome): string {
  if (outcome.result === 'accepted') {
    return `${code} accepted` + (outcome.counter !== undefined ? ` (counter ${outcome.counter})` : outcome.step !== undefined ? ` (time step ${outcome.step})` : '');
  }
  return (
    `${code} rejected: ${outcome.reason.replace(/_/g, ' ')}` +
    (outcome.locked ? ' (token locked)' : outcome.failCount ? ` (${outcome.failCount} failed in a row)` : '') +
    (outcome.hint ? `; ${outcome.hint}` : '')
  );
}

export function verifyCommands(): Command[] {
  const sync = addServerOptions(
    addTokenChoice(
      new Command('sync').description("bring the server's record in line with the token: HOTP counter up to the token's; TOTP clock set and drift forgotten"),
    )
      .addOption(new Option('--force', "TOTP: also set a token clock that runs ahead back"))
      .addOption(new Option('--json', 'print the result as JSON')),
  ).action(async (options: ServerCliOptions & TokenChoice & { force?: boolean }) => {
    const server = requireServer(options);
    const output = createOutput(Boolean(options.json));
    const token = await connectToken(await chooseAddress(options, output));
    try {
      const info = await readInfo(token.session);
      if (!info.enrolled) throw new CodedError('NV_NOT_ENROLLED', `token ${info.serial} holds no seed: enroll it first`);
      if (info.mode === 'hotp') {
        const { token: record, moved } = await server.advanceCounter(info.serial, info.counter ?? 0);
        output.result({ serial: info.serial, mode: 'hotp', tokenCounter: info.counter, serverCounter: record.counter, moved }, () => [
          moved
            ? `server counter of ${info.serial} moved up to the token's: ${record.counter}`
            : `server counter of ${info.serial} (${record.counter}) is not behind the token's (${info.counter}): left as it is`,
        ]);
      } else {
        const clock = await setClock(token.session, options.force);
        await server.resetDrift(info.serial);
        output.result({ serial: info.serial, mode: 'totp', ...clock }, () =>
          table({ token: info.serial, 'clock before': `${(clock.offsetBeforeMs / 1000).toFixed(3)} s`, 'clock after': `${(clock.offsetAfterMs / 1000).toFixed(3)} s`, drift: 'reset on the server' }),
        );
      }
    } finally {
      await token.close();
    }
  });

  const verify = addServerOptions(
    new Command('verify')
      .description('ask the server whether a code is good (exit 0 when accepted, 1 when rejected)')
      .requiredOption('--serial <serial>', 'the token the code is from')
      .argument('<code>', 'the code')
      .addOption(new Option('--json', 'print the result as JSON')),
  ).action(async (code: string, options: ServerCliOptions & { serial: string; json?: boolean }) => {
    const server = requireServer(options);
    const outcome = await server.verify(options.serial, checkCode(code));
    createOutput(Boolean(options.json)).result(outcome, () => [describeOutcome(code, outcome)]);
    if (outcome.result !== 'accepted') throw new CommandExit(1);
  });

  const resync = addServerOptions(
    new Command('resync')
      .description('resynchronise a token (and unlock it) with two consecutive codes; the token need not be connected')
      .requiredOption('--serial <serial>', 'the token')
      .argument('<code1>', 'a code')
      .argument('<code2>', 'the code the next press showed')
      .addOption(new Option('--json', 'print the result as JSON')),
  ).action(async (first: string, second: string, options: ServerCliOptions & { serial: string; json?: boolean }) => {
    const server = requireServer(options);
    const outcome = await server.resync(options.serial, [checkCode(first), checkCode(second)]);
    createOutput(Boolean(options.json)).result(outcome, () => [
      outcome.result === 'resynced'
        ? `${options.serial} resynchronised` +
          (outcome.counter !== undefined ? `: next counter ${outcome.counter}` : `: drift ${outcome.driftSteps} steps`) +
          (outcome.unlocked ? ', and unlocked' : '')
        : `${options.serial}: the two codes are not consecutive codes of this token`,
    ]);
    if (outcome.result !== 'resynced') throw new CommandExit(1);
  });

  const watch = addServerOptions(
    addTokenChoice(new Command('watch').description('relay every button press of the token to the server and print its verdict, until Ctrl-C')).addOption(
      new Option('--json', 'one JSON line per verdict'),
    ),
  ).action(async (options: ServerCliOptions & TokenChoice) => {
    const server = requireServer(options);
    const output = createOutput(Boolean(options.json));
    const address = await chooseAddress(options, output);
    const token = await connectToken(address);
    const serial = token.identity.serial;
    try {
      await watchToken(token.session, serial, server, (line, verdict) => output.result(verdict, () => [line]), () =>
        output.note(`watching token ${serial} on ${address}: press its button (Ctrl-C stops)`),
      );
    } finally {
      await token.close();
    }
  });

  return [sync, verify, watch, resync];
}

/** Relays press events to the server until the link closes or the process is interrupted. */
export async function watchToken(
  session: TokenSession,
  serial: string,
  server: ServerClient,
  onVerdict: (line: string, verdict: unknown) => void,
  onReady: () => void,
): Promise<void> {
  let chain = Promise.resolve();
  session.onEvent((event) => {
    if (event.name !== 'press') return;
    const code = event.fields.code;
    chain = chain.then(async () => {
      try {
        const outcome = await server.verify(serial, code);
        onVerdict(describeOutcome(code, outcome), { code, ...outcome });
      } catch (error) {
        onVerdict(`${code} not checked: ${(error as Error).message}`, { code, result: 'error', error: (error as Error).message });
      }
    });
  });
  onReady();
  await new Promise<void>((resolve, reject) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    session.onClose((error) => (error ? reject(error) : resolve()));
  });
  await chain;
}
