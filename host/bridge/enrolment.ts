/**
 * Enrolment against a server as one operation. The server record is made first, then the seed is
 * written to the token. If the token write fails, the bridge looks at the token again (reopening
 * its port if it has to): a token that holds the seed keeps it and the record stays (the write
 * did land); otherwise the record is removed. Either way no side is left alone with the seed,
 * and the error says which way it went. A record the server still holds from before a wipe is
 * refused with what to do about it, or replaced when asked to.
 */
import type { EnrollArgs, HelloReply } from '../../protocol/commands.ts';
import { bytesToHex } from '../../protocol/bytes.ts';
import type { ConnectedToken } from './operations.ts';
import { type ServerClient, type TokenRegistration } from './server-client.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export interface ServerEnrolment {
  readonly serial: string;
  readonly counter?: number;
}

/** How to reach the token again after its link failed mid-enrolment. */
export type Reconnect = () => Promise<ConnectedToken>;

export async function enrollWithServer(
  token: ConnectedToken,
  server: ServerClient,
  args: EnrollArgs,
  options: { owner?: string | null; reconnect?: Reconnect; replace?: boolean; allowShortSeed?: boolean } = {},
): Promise<ServerEnrolment> {
  const serial = token.identity.serial;
  const info = await token.session.request('info', {});
  if (info.enrolled) throw new CodedError('NV_TOKEN_ALREADY_ENROLLED', `token ${serial} already holds a seed: wipe it first`);

  await registerOrReplace(server, {
    serial,
    kind: args.mode,
    algorithm: args.algorithm,
    digits: args.digits,
    period: args.period,
    counter: args.counter,
    seed: bytesToHex(args.secret),
    owner: options.owner,
    ...(options.allowShortSeed ? { allowShortSeed: true } : {}),
  }, Boolean(options.replace));

  try {
    const result = await token.session.request('enroll', args, { timeoutMs: 3000, retries: 0 });
    return { serial, counter: result.counter };
  } catch (writeError) {
    const reason = (writeError as Error).message;
    const holds = await tokenHoldsSeed(token, serial, options.reconnect);
    if (holds === true) return { serial, counter: args.mode === 'hotp' ? (args.counter ?? 0) : undefined };
    try {
      await server.deleteToken(serial);
    } catch (deleteError) {
      throw new CodedError(
        'NV_ENROLL_HALF',
        `writing the seed to token ${serial} failed (${reason}), and removing its server record failed too (${(deleteError as Error).message}): delete ${serial} on the server`,
      );
    }
    if (holds === false) {
      throw new CodedError('NV_ENROLL_ROLLED_BACK', `writing the seed to token ${serial} failed (${reason}); its server record was removed, so neither side holds the seed`);
    }
    throw new CodedError(
      'NV_ENROLL_UNCERTAIN',
      `writing the seed to token ${serial} failed (${reason}) and the token could not be checked; its server record was removed: if \`noegleviser info\` shows the token enrolled, wipe it`,
    );
  }
}

/**
 * Registers the token. A record left from an earlier enrolment (the token was wiped since) is
 * removed first with `replace`; without it, the refusal says what to do.
 */
async function registerOrReplace(server: ServerClient, registration: TokenRegistration, replace: boolean): Promise<void> {
  try {
    await server.register(registration);
  } catch (error) {
    if (!(error instanceof CodedError) || error.code !== 'NV_SERIAL_EXISTS') throw error;
    const serial = registration.serial;
    if (!replace) {
      throw new CodedError(
        'NV_SERIAL_EXISTS',
        `the server already has a record of token ${serial} from an earlier enrolment: remove it with \`noegleviser token delete ${serial}\`, or enrol with --replace`,
      );
    }
    await server.deleteToken(serial);
    await server.register(registration);
  }
}

/** Whether the token now holds a seed: true, false, or undefined when it cannot be asked. */
async function tokenHoldsSeed(token: ConnectedToken, serial: string, reconnect: Reconnect | undefined): Promise<boolean | undefined> {
  try {
    return (await token.session.request('info', {}, { timeoutMs: 1500 })).enrolled;
  } catch {
    // the link is gone: try the port again
  }
  if (!reconnect) return undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const again = await reconnect();
      try {
        if (!sameToken(again.identity, serial)) return undefined;
        return (await again.session.request('info', {})).enrolled;
      } finally {
        await again.close();
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return undefined;
}

function sameToken(identity: HelloReply, serial: string): boolean {
  return identity.serial === serial;
}
