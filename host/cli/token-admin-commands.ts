/** `noegleviser token …`: the server's token administration, for an operator at a shell. */
import { Command, Option } from 'commander';
import type { AuditView } from '../bridge/server-client.ts';
import { ISO_TIME_PATTERN } from '../server/http/schemas.ts';
import type { TokenView } from '../server/token-service.ts';
import { confirmation } from './confirm.ts';
import { usageError, wholeNumber } from './errors.ts';
import { columns, createOutput, table } from './output.ts';
import { addServerOptions, requireServer, type ServerCliOptions } from './server-options.ts';

type Options = ServerCliOptions & { json?: boolean };

function tokenLines(token: TokenView): string[] {
  return table({
    serial: token.serial,
    kind: `${token.kind.toUpperCase()} ${token.algorithm.toUpperCase()} ${token.digits} digits`,
    state: token.state,
    counter: token.counter,
    'last step': token.lastStep,
    drift: token.driftSteps === undefined ? undefined : `${token.driftSteps} steps`,
    'failed in a row': token.failCount,
    owner: token.owner ?? '-',
    'last used': token.lastUsedAt ?? 'never',
  });
}

export function tokenAdminCommand(): Command {
  const token = new Command('token').description("administer the server's tokens (needs the admin key)");
  const sub = (name: string, description: string) => addServerOptions(token.command(name).description(description)).addOption(new Option('--json', 'print JSON'));

  sub('list', 'list tokens')
    .addOption(new Option('--owner <user>', 'only this person’s (NemID number or user-id)'))
    .addOption(new Option('--state <state>', 'only tokens in this state').choices(['active', 'disabled', 'locked', 'lost', 'revoked']))
    .action(async (o: Options & { owner?: string; state?: string }) => {
      const tokens = await requireServer(o).listTokens({ owner: o.owner, state: o.state });
      createOutput(Boolean(o.json)).result({ tokens }, () => (tokens.length === 0 ? ['no tokens'] : tokenRows(tokens)));
    });
  sub('show', "show one token's record (never its seed)")
    .argument('<serial>')
    .action(async (serial: string, o: Options) => {
      const found = await requireServer(o).getToken(serial);
      if (!found) throw usageError('NV_UNKNOWN_SERIAL', `the server has no token ${serial}`);
      createOutput(Boolean(o.json)).result({ token: found }, () => tokenLines(found));
    });
  for (const action of ['disable', 'enable', 'unlock', 'revoke'] as const) {
    const command = sub(action, { disable: 'stop a token verifying for now', enable: 'let a disabled token verify again', unlock: 'unlock a token locked by wrong codes', revoke: 'end a token for good (asks first)' }[action])
      .argument('<serial>');
    if (action === 'revoke') command.addOption(new Option('--force', 'do not ask'));
    command.action(async (serial: string, o: Options & { force?: boolean }) => {
      const server = requireServer(o);
      if (action === 'revoke') await confirmation(o.force, '--force', 'token revoke').ask(`revoke token ${serial} on ${server.url} for good (it never verifies again, nor does a replacement issued for it)?`);
      const changed = await server.changeState(serial, action);
      createOutput(Boolean(o.json)).result({ token: changed }, () => [`${serial} is now ${changed.state}`]);
    });
  }
  sub('lost', 'block a lost token; --replacement issues a temporary password for its owner, shown once')
    .argument('<serial>')
    .addOption(new Option('--replacement', 'issue a temporary password'))
    .addOption(new Option('--valid-days <days>', 'how long the password works').argParser(wholeNumber('--valid-days', 1, 90)))
    .action(async (serial: string, o: Options & { replacement?: boolean; validDays?: number }) => {
      const result = await requireServer(o).reportLost(serial, { replacement: Boolean(o.replacement), validDays: o.validDays });
      createOutput(Boolean(o.json)).result(result, () => [
        `${serial} is blocked (lost)`,
        ...(result.replacement
          ? ['temporary password (shown this once):', ...table({ serial: result.replacement.serial, password: result.replacement.password, 'valid until': result.replacement.validUntil })]
          : []),
      ]);
    });
  sub('assign', "assign a token to a person of the login service, by NemID number or user-id (or --none)")
    .argument('<serial>')
    .argument('[person]', 'a NemID number or user-id (the server keeps the NemID number)')
    .addOption(new Option('--none', 'take it from its owner'))
    .action(async (serial: string, user: string | undefined, o: Options & { none?: boolean }) => {
      if ((user === undefined) === !o.none) throw usageError('NV_BAD_ARGUMENT', 'give a person (NemID number or user-id), or --none');
      const changed = await requireServer(o).assign(serial, o.none ? null : user!);
      createOutput(Boolean(o.json)).result({ token: changed }, () => [`${serial} ${changed.owner ? `belongs to NemID ${changed.owner}` : 'belongs to nobody'}`]);
    });
  sub('delete', 'remove a token record (its audit history stays; asks first)')
    .argument('<serial>')
    .addOption(new Option('--force', 'do not ask'))
    .action(async (serial: string, o: Options & { force?: boolean }) => {
      const server = requireServer(o);
      await confirmation(o.force, '--force', 'token delete').ask(`delete the record of token ${serial} on ${server.url} (its seed is gone for good)?`);
      await server.deleteToken(serial);
      createOutput(Boolean(o.json)).result({ deleted: serial }, () => [`${serial} deleted`]);
    });
  sub('audit', 'the audit log, newest first')
    .addOption(new Option('--serial <id>', 'only this subject: a token serial, NemID number, card serial or key file'))
    .addOption(new Option('--action <action>', 'only this action, e.g. verify, enroll, login.password, card.block'))
    .addOption(new Option('--since <time>', 'only records from this time on: an ISO 8601 date or time, or an age such as 30m, 12h, 7d').argParser((text: string) => parseSince(text)))
    .addOption(new Option('--limit <n>', 'at most n entries').argParser(wholeNumber('--limit', 1, 1000)))
    .action(async (o: Options & { serial?: string; action?: string; since?: string; limit?: number }) => {
      const entries = await requireServer(o).audit({ subject: o.serial, action: o.action, since: o.since, order: 'desc', limit: o.limit });
      createOutput(Boolean(o.json)).result({ entries }, () => (entries.length === 0 ? ['no audit records'] : auditRows(entries)));
    });
  return token;
}

/** A table with a header row; a TOTP token's place is its last time step, an HOTP token's its next counter. */
function tokenRows(tokens: TokenView[]): string[] {
  const place = (t: TokenView) => (t.kind === 'hotp' ? `counter ${t.counter}` : t.lastStep === undefined || t.lastStep < 0 ? 'time step: none used' : `time step ${t.lastStep}`);
  const kind = (t: TokenView) => (t.kind === 'totp' ? `TOTP/${t.period}s` : t.kind.toUpperCase());
  return columns(
    ['SERIAL', 'KIND', 'STATE', 'COUNTER / TIME STEP', 'OWNER'],
    tokens.map((t) => [t.serial, kind(t), t.state, place(t), t.owner ?? '-']),
  );
}

const SUBJECT_NAMES: Record<string, string> = { token: 'token', nemid: 'NemID', card: 'card', key_file: 'key file', organisation: 'organisation' };

function auditRows(entries: AuditView[]): string[] {
  return columns(
    ['TIME', 'ACTOR', 'ACTION', 'SUBJECT', 'RESULT', 'DETAIL'],
    entries.map((e) => [e.at, e.actor, e.action, e.subject ? `${SUBJECT_NAMES[e.subject.kind] ?? e.subject.kind} ${e.subject.id}` : '-', e.result, JSON.stringify(e.detail)]),
  );
}

/** `--since`: an ISO 8601 date or time, or an age (30m, 12h, 7d), as the ISO time the API takes. */
export function parseSince(text: string, now: number = Date.now()): string {
  const age = /^(\d{1,6})([smhd])$/.exec(text);
  if (age) return new Date(now - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd']).toISOString();
  if (new RegExp(ISO_TIME_PATTERN).test(text) && !Number.isNaN(Date.parse(text))) {
    return new Date(Date.parse(text)).toISOString();
  }
  throw usageError('NV_BAD_ARGUMENT', `--since takes an ISO 8601 date or time (2026-03-01, 2026-03-01T12:00) or an age (30m, 12h, 7d), not "${text}"`);
}
