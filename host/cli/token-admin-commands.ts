/** `noegleviser token …`: the server's token administration, for an operator at a shell. */
import { Command, Option } from 'commander';
import type { TokenView } from '../server/token-service.ts';
import { usageError, wholeNumber } from './errors.ts';
import { createOutput, table } from './output.ts';
import { addServerOptions, requireServer, type ServerCliOptions } from './server-options.ts';

type Options = ServerCliOptions & { json?: boolean };

function tokenLines(token: TokenView): string[] {
  return table({
    serial: token.serial,
    kind: `${token.kind.toUpperCase()}${token.kind === 'password' ? '' : ` ${token.algorithm.toUpperCase()} ${token.digits} digits`}`,
    state: token.state,
    counter: token.counter,
    'last step': token.lastStep,
    drift: token.driftSteps === undefined ? undefined : `${token.driftSteps} steps`,
    'failed in a row': token.failCount,
    owner: token.owner ?? '-',
    replaces: token.replaces,
    'valid until': token.validUntil,
    'last used': token.lastUsedAt ?? 'never',
  });
}

export function tokenAdminCommand(): Command {
  const token = new Command('token').description("administer the server's tokens (needs the admin key)");
  const sub = (name: string, description: string) => addServerOptions(token.command(name).description(description)).addOption(new Option('--json', 'print JSON'));

  sub('list', 'list tokens')
    .addOption(new Option('--owner <user>', 'only this user’s'))
    .addOption(new Option('--state <state>', 'only tokens in this state').choices(['active', 'disabled', 'locked', 'lost', 'revoked']))
    .action(async (o: Options & { owner?: string; state?: string }) => {
      const tokens = await requireServer(o).listTokens({ owner: o.owner, state: o.state });
      createOutput(Boolean(o.json)).result({ tokens }, () =>
        tokens.length === 0
          ? ['no tokens']
          : tokens.map((t) => `${t.serial.padEnd(16)} ${t.kind.padEnd(8)} ${t.state.padEnd(9)} ${String(t.counter ?? t.lastStep ?? '').padEnd(8)} ${t.owner ?? '-'}`),
      );
    });
  sub('show', "show one token's record (never its seed)")
    .argument('<serial>')
    .action(async (serial: string, o: Options) => {
      const found = await requireServer(o).getToken(serial);
      if (!found) throw usageError('NV_UNKNOWN_SERIAL', `the server has no token ${serial}`);
      createOutput(Boolean(o.json)).result({ token: found }, () => tokenLines(found));
    });
  for (const action of ['disable', 'enable', 'unlock', 'revoke'] as const) {
    sub(action, { disable: 'stop a token verifying for now', enable: 'let a disabled token verify again', unlock: 'unlock a token locked by wrong codes', revoke: 'end a token for good' }[action])
      .argument('<serial>')
      .action(async (serial: string, o: Options) => {
        const changed = await requireServer(o).changeState(serial, action);
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
  sub('assign', 'assign a token to a user (or --none)')
    .argument('<serial>')
    .argument('[user]')
    .addOption(new Option('--none', 'take it from its user'))
    .action(async (serial: string, user: string | undefined, o: Options & { none?: boolean }) => {
      if ((user === undefined) === !o.none) throw usageError('NV_BAD_ARGUMENT', 'give a user, or --none');
      const changed = await requireServer(o).assign(serial, o.none ? null : user!);
      createOutput(Boolean(o.json)).result({ token: changed }, () => [`${serial} ${changed.owner ? `belongs to ${changed.owner}` : 'belongs to nobody'}`]);
    });
  sub('delete', 'remove a token record (its audit history stays)')
    .argument('<serial>')
    .action(async (serial: string, o: Options) => {
      await requireServer(o).deleteToken(serial);
      createOutput(Boolean(o.json)).result({ deleted: serial }, () => [`${serial} deleted`]);
    });
  sub('audit', 'the audit log, oldest first')
    .addOption(new Option('--serial <serial>', 'only this token'))
    .addOption(new Option('--limit <n>', 'at most n entries').argParser(wholeNumber('--limit', 1, 1000)))
    .action(async (o: Options & { serial?: string; limit?: number }) => {
      const entries = await requireServer(o).audit({ serial: o.serial, limit: o.limit });
      createOutput(Boolean(o.json)).result({ entries }, () =>
        entries.map((e) => `${e.at}  ${e.actor.padEnd(16)} ${e.action.padEnd(18)} ${(e.serial ?? '-').padEnd(14)} ${e.result}  ${JSON.stringify(e.detail)}`),
      );
    });
  return token;
}
