/**
 * Organisations (CVR checked) and their NemID administrators: an organisation is created with its
 * first administrator, who gets a code card; an administrator sees and touches only their own
 * organisation's people: another organisation's person is "not found", exactly like a person who
 * does not exist.
 */
import { CodedError } from '../../protocol/coded-error.ts';
import { auditEntry, type Actor } from '../store/audit.ts';
import type { CodeCards } from './cards.ts';
import type { KeyFiles } from './key-files.ts';
import type { Lockout } from './lockout.ts';
import { checkName, type Issued, type People } from './people.ts';
import { parseCvr } from './rules/cvr.ts';
import { DuplicateOrganisationError, type CardState, type KeyFileState, type OrganisationRecord, type PersonRecord, type ServiceStore } from './store/types.ts';

/** An administrator acting for their organisation. */
export interface OrganisationAdmin {
  readonly person: PersonRecord;
  readonly organisation: OrganisationRecord;
}

/** One of the organisation's people as their administrator sees them: never a hash, a secret or a key. */
export interface EmployeeView {
  readonly id: string;
  readonly name: string;
  readonly userId: string | null;
  readonly role: NonNullable<PersonRecord['role']>;
  readonly state: PersonRecord['state'];
  readonly cards: readonly { readonly serial: string; readonly state: CardState; readonly keysLeft: number; readonly extra: boolean }[];
  readonly keyFiles: readonly { readonly id: string; readonly state: KeyFileState }[];
  readonly extraCardsAllowed: number;
}

export class Organisations {
  constructor(
    private readonly store: ServiceStore,
    private readonly people: People,
    private readonly cards: CodeCards,
    private readonly keyFiles: KeyFiles,
    private readonly lockout: Lockout,
    private readonly now: () => number,
  ) {}

  /** An organisation (CVR checked) and its first NemID administrator, who gets a code card. */
  async create(input: { cvr: string; name: string; administrator: string }, actor: Actor): Promise<{ organisation: OrganisationRecord } & Issued> {
    const cvr = parseCvr(input.cvr);
    const exists = () => new CodedError('NV_ORGANISATION_EXISTS', `an organisation with CVR ${cvr} already exists`, 409);
    if (await this.store.getOrganisationByCvr(cvr)) throw exists();
    const organisation: OrganisationRecord = { id: `O${cvr}`, cvr, name: checkName(input.name, 'organisation name'), createdAt: this.now() };
    // Two orders of one CVR racing past the check above: the store refuses the second.
    await this.store.insertOrganisation(organisation, auditEntry(actor, 'organisation.create', organisation.id, 'ok', { cvr }, this.now())).catch((error: unknown) => {
      throw error instanceof DuplicateOrganisationError ? exists() : error;
    });
    const issued = await this.people.issueEmployee(organisation, { name: input.administrator, role: 'administrator', credential: 'card' }, actor);
    return { organisation, ...issued };
  }

  /** The organisation a person belongs to, if any. */
  async of(person: PersonRecord): Promise<OrganisationRecord | undefined> {
    return person.organisationId === null ? undefined : this.store.getOrganisation(person.organisationId);
  }

  /** The person as their organisation's administrator, if they are one (and still allowed in). */
  async administrator(personId: string): Promise<OrganisationAdmin | undefined> {
    const person = await this.lockout.current(personId);
    if (person.role !== 'administrator') return undefined;
    const organisation = await this.of(person);
    return organisation && { person, organisation };
  }

  /** One of the administrator's own organisation's people; any other is "not found". */
  async employee(admin: OrganisationAdmin, personId: string): Promise<PersonRecord> {
    const person = await this.store.getPerson(personId);
    if (!person || person.organisationId !== admin.organisation.id) throw new CodedError('NV_NO_PERSON', 'no such employee in your organisation', 404);
    return person;
  }

  /** The organisation's people with their credentials, for its administrator. */
  async employees(admin: OrganisationAdmin): Promise<EmployeeView[]> {
    return Promise.all(
      (await this.people.ofOrganisation(admin.organisation.id)).map(async (p) => ({
        id: p.id,
        name: p.name,
        userId: p.userId,
        role: p.role ?? 'employee',
        state: p.state,
        cards: (await this.cards.ofPerson(p.id)).map(({ serial, state, keysLeft, extra }) => ({ serial, state, keysLeft, extra })),
        keyFiles: (await this.keyFiles.ofPerson(p.id)).map(({ id, state }) => ({ id, state })),
        extraCardsAllowed: await this.people.extraCardsAllowed(p),
      })),
    );
  }
}
