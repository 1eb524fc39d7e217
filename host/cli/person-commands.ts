/**
 * `noegleviser person …` and `noegleviser organisation …`: the login service's support powers
 * (the operator API under /v1, with the admin key), for an operator at a shell. Nothing here ever
 * prints a password or a card key: the API returns none; they are in the outbox letter only.
 */
import { Command, Option } from 'commander';
import type { PersonView } from '../bridge/server-client.ts';
import { MAX_EXTRA_CARDS } from '../api/people.ts';
import { usageError, wholeNumber } from './errors.ts';
import { createOutput, table } from './output.ts';
import { addServerOptions, requireServer, type ServerCliOptions } from './server-options.ts';

type Options = ServerCliOptions & { json?: boolean };

function personLines(person: PersonView): string[] {
  return table({
    'NemID number': person.nemIdNumber,
    'user-id': person.userId ?? '(not chosen yet)',
    name: person.name,
    scope: person.scope,
    state: person.state,
    organisation: person.organisationId ?? undefined,
    role: person.role ?? undefined,
    'failed in a row': person.failCount,
    'new card at': `${person.cardThreshold} keys left`,
    created: person.createdAt,
    'last login': person.lastLoginAt ?? 'never',
  });
}

/** The outbox letter's id: the temporary password (or activation code) is in the letter, never printed here. */
const inOutbox = (letter: string) => `${letter} (in the server's outbox)`;

function withServer(command: Command): Command {
  return addServerOptions(command).addOption(new Option('--json', 'print JSON'));
}

export function personCommand(): Command {
  const person = new Command('person').description("the login service's people: order a NemID, block, unblock, unlock, re-issue, extra cards (needs the admin key)");
  const sub = (name: string, description: string) => withServer(person.command(name).description(description));

  sub('order', 'order a NemID (a code card, or --token for an enrolled code token); the welcome letter goes to the outbox')
    .addOption(new Option('--name <name>', 'the person’s full name').makeOptionMandatory())
    .addOption(new Option('--cpr <cpr>', 'their CPR number (DDMMYY-SSSS)').conflicts('birthDate'))
    .addOption(new Option('--birth-date <date>', 'without a CPR number: their birth date, YYYY-MM-DD (bank-only scope)'))
    .addOption(new Option('--token <serial>', 'an enrolled code token instead of a code card'))
    .action(async (o: Options & { name: string; cpr?: string; birthDate?: string; token?: string }) => {
      if (o.cpr === undefined && o.birthDate === undefined) throw usageError('NV_BAD_ARGUMENT', 'give --cpr CPR or --birth-date YYYY-MM-DD');
      const result = await requireServer(o).orderPerson({
        name: o.name,
        ...(o.cpr !== undefined ? { cpr: o.cpr } : { birthDate: o.birthDate }),
        credential: o.token === undefined ? 'card' : 'token',
        ...(o.token === undefined ? {} : { tokenSerial: o.token }),
      });
      createOutput(Boolean(o.json)).result(result, () => [
        ...table({ 'NemID number': result.person.nemIdNumber, name: result.person.name, scope: result.person.scope, credential: o.token === undefined ? 'code card' : `code token ${o.token}`, letter: inOutbox(result.letter) }),
      ]);
    });
  sub('show', "show a person's record (never a password or key)")
    .argument('<nemId>', 'the NemID number')
    .action(async (nemId: string, o: Options) => {
      const found = await requireServer(o).getPerson(nemId);
      createOutput(Boolean(o.json)).result({ person: found }, () => personLines(found));
    });
  for (const action of ['block', 'unblock', 'unlock'] as const) {
    sub(action, { block: 'block (spær) a person at once: every session ends, no login until unblocked', unblock: 'lift a block', unlock: 'lift a lockout after too many wrong passwords or keys' }[action])
      .argument('<nemId>', 'the NemID number')
      .action(async (nemId: string, o: Options) => {
        const changed = await requireServer(o).changePerson(nemId, action);
        createOutput(Boolean(o.json)).result({ person: changed }, () => [`${nemId} is now ${changed.state}`]);
      });
  }
  sub('reissue', 're-issue (genudsted) a credential: the old cards, tokens and key files are blocked, a new letter goes to the outbox')
    .argument('<nemId>', 'the NemID number')
    .action(async (nemId: string, o: Options) => {
      const result = await requireServer(o).reissuePerson(nemId);
      createOutput(Boolean(o.json)).result(result, () => [
        `${nemId} is re-issued and now ${result.person.state}`,
        ...table({ letter: inOutbox(result.letter), ...(result.cardLetter ? { 'card letter': inOutbox(result.cardLetter) } : {}) }),
      ]);
    });
  sub('extra-cards', `order extra code cards (ekstra nøglekort), at most ${MAX_EXTRA_CARDS} alive at a time`)
    .argument('<nemId>', 'the NemID number')
    .addOption(new Option('--count <n>', 'how many').argParser(wholeNumber('--count', 1, MAX_EXTRA_CARDS)).makeOptionMandatory())
    .action(async (nemId: string, o: Options & { count: number }) => {
      const letters = await requireServer(o).orderExtraCards(nemId, o.count);
      createOutput(Boolean(o.json)).result({ letters }, () => [`${letters.length} extra card(s) for ${nemId}, in the server's outbox:`, ...letters.map((letter) => `  ${letter}`)]);
    });
  return person;
}

export function organisationCommand(): Command {
  const organisation = new Command('organisation').description("the login service's organisations (medarbejdersignatur; needs the admin key)");
  withServer(organisation.command('create').description('create an organisation (CVR checked) and its first NemID administrator, who gets a code card by letter'))
    .addOption(new Option('--cvr <cvr>', 'its CVR number (8 digits)').makeOptionMandatory())
    .addOption(new Option('--name <name>', 'its name').makeOptionMandatory())
    .addOption(new Option('--administrator <name>', 'the full name of its first NemID administrator').makeOptionMandatory())
    .action(async (o: Options & { cvr: string; name: string; administrator: string }) => {
      const result = await requireServer(o).createOrganisation({ cvr: o.cvr, name: o.name, administrator: o.administrator });
      createOutput(Boolean(o.json)).result(result, () => [
        ...table({
          organisation: result.organisation.id,
          CVR: result.organisation.cvr,
          name: result.organisation.name,
          administrator: `${result.administrator.name}, NemID number ${result.administrator.nemIdNumber}`,
          letter: inOutbox(result.letter),
          'card letter': inOutbox(result.cardLetter),
        }),
      ]);
    });
  return organisation;
}
