/**
 * The organisation administrator's page (NemID administrator): issuing employee signatures
 * (medarbejdersignatur) with a code card or a key file, and per employee the actions that make
 * sense in their state — block (spær), unblock, unlock, re-issue (genudsted), order extra cards.
 */
import type { OrganisationRole, PersonState } from '../../store/types.ts';
import { da, html, layout, messages, postForm, type SafeHtml } from './layout.ts';
import { CARD_STATE_LABELS, KEY_FILE_STATE_LABELS, ROLE_LABELS, type CardRow, type KeyFileRow } from './self-service.ts';

export interface EmployeeRow {
  readonly id: string;
  readonly name: string;
  /** Null until the employee has chosen one (or for a key-file employee). */
  readonly userId: string | null;
  readonly role: OrganisationRole;
  readonly state: PersonState;
  readonly cards: readonly CardRow[];
  readonly keyFiles: readonly KeyFileRow[];
  /**
   * How many more extra cards may be ordered for this employee now, as the server's policy decides
   * (0 hides the order form). The page only shows it; it never works it out itself.
   */
  readonly extraCardsAllowed: number;
}

export interface AdminView {
  readonly csrf: string;
  readonly organisation: { readonly name: string; readonly cvr: string };
  /** The administrator signed in: their own row offers no "block" (the server refuses it too). */
  readonly admin: { readonly name: string; readonly id: string };
  readonly employees: readonly EmployeeRow[];
  /** The policy's limit on extra cards per employee, for the hint text. */
  readonly maxExtraCards: number;
  readonly notice?: string;
  readonly error?: string;
}

export const PERSON_STATE_LABELS: Readonly<Record<PersonState, SafeHtml>> = {
  pending: html`Issued, first login not yet made`,
  active: html`Active${da('aktiv')}`,
  locked: html`Locked after wrong attempts${da('låst')}`,
  blocked: html`Blocked${da('spærret')}`,
};

function actionForm(csrf: string, employee: EmployeeRow, action: string, className: string, label: SafeHtml, extra: SafeHtml | '' = ''): SafeHtml {
  return postForm({
    csrf,
    action: `/admin/employees/${encodeURIComponent(employee.id)}/${action}`,
    className: 'employee-action',
    body: html`${extra}<button type="submit" class="${className}" data-id="${employee.id}">${label}</button>`,
  });
}

function credentials(employee: EmployeeRow): SafeHtml {
  const cards = employee.cards.map(
    (card) =>
      html`<li data-card="${card.serial}" data-state="${card.state}">Code card${da('nøglekort')} ${card.serial}${card.extra ? ' (extra)' : ''}: ${CARD_STATE_LABELS[card.state]}, <span class="keys-left">${card.keysLeft}</span> keys left</li>`,
  );
  const keyFiles = employee.keyFiles.map(
    (keyFile) => html`<li data-key-file="${keyFile.id}" data-state="${keyFile.state}">Key file${da('nøglefil')} ${keyFile.id}: ${KEY_FILE_STATE_LABELS[keyFile.state]}</li>`,
  );
  return cards.length + keyFiles.length === 0 ? html`<span class="muted">none</span>` : html`<ul class="credentials">${cards}${keyFiles}</ul>`;
}

function actions(csrf: string, employee: EmployeeRow, self: boolean): SafeHtml {
  const allowed = employee.extraCardsAllowed;
  const countId = `extra-count-${employee.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return html`${employee.state === 'blocked'
    ? actionForm(csrf, employee, 'unblock', 'unblock-employee', html`Unblock${da('ophæv spærring')}`)
    : self
      ? ''
      : actionForm(csrf, employee, 'block', 'block-employee danger', html`Block${da('spær')}`)}${
    employee.state === 'locked' ? actionForm(csrf, employee, 'unlock', 'unlock-employee', html`Unlock`) : ''
  }${actionForm(csrf, employee, 'reissue', 'reissue-employee', html`Re-issue${da('genudsted')}`)}${
    allowed > 0
      ? actionForm(
          csrf,
          employee,
          'extra-cards',
          'extra-cards',
          html`Order extra cards`,
          html`<label for="${countId}">Extra cards</label> <input id="${countId}" name="count" type="number" inputmode="numeric" min="1" max="${allowed}" step="1" value="1" required class="count-input"> `,
        )
      : ''
  }`;
}

export function adminPage(view: AdminView): string {
  const rows = view.employees.map(
    (employee) => html`<tr data-person="${employee.id}" data-state="${employee.state}">
<th scope="row">${employee.name}</th>
<td>${employee.userId ?? html`<span class="muted">not chosen yet</span>`}</td>
<td>${ROLE_LABELS[employee.role]}</td>
<td class="person-state">${PERSON_STATE_LABELS[employee.state]}</td>
<td>${credentials(employee)}</td>
<td class="actions">${actions(view.csrf, employee, employee.id === view.admin.id)}</td>
</tr>`,
  );
  return layout({
    title: 'Employee signatures',
    signedIn: { name: view.admin.name, csrf: view.csrf },
    pageClass: 'wide',
    body: html`<h1>Employee signatures${da('medarbejdersignaturer')}</h1>
<p id="organisation" data-cvr="${view.organisation.cvr}"><strong>${view.organisation.name}</strong>, CVR ${view.organisation.cvr} · administrator ${view.admin.name}</p>
${messages(view)}
<section aria-labelledby="issue-heading">
<h2 id="issue-heading">Issue an employee signature</h2>
${postForm({
  csrf: view.csrf,
  action: '/admin/employees',
  id: 'issue-form',
  className: 'inline-form',
  body: html`<div class="field"><label for="employee-name">Employee's full name</label>
<input id="employee-name" name="name" type="text" autocomplete="off" required maxlength="200"></div>
<div class="field"><label for="employee-credential">Credential</label>
<select id="employee-credential" name="credential"><option value="card">Code card (nøglekort)</option><option value="key-file">Key file (nøglefil)</option></select></div>
<div class="field"><label for="employee-role">Role</label>
<select id="employee-role" name="role"><option value="employee">Employee (medarbejder)</option><option value="administrator">NemID administrator</option></select></div>
<button type="submit" id="issue-submit" class="primary">Issue</button>`,
})}
<p class="hint">The employee receives a welcome letter with a temporary password and a code card, or an activation code for a key file.</p>
</section>
<section aria-labelledby="employees-heading">
<h2 id="employees-heading">Employees${da('medarbejdere')}</h2>
${view.employees.length === 0 ? html`<p id="no-employees">No employee signatures issued yet.</p>` : ''}
<table id="employees">
<thead><tr><th scope="col">Name</th><th scope="col">User-id</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Credentials</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody>
</table>
<p class="hint">Block an employee signature at once on suspected misuse. An employee can have at most ${view.maxExtraCards} extra cards issued or in use.</p>
</section>`,
  });
}
