/**
 * "Are you sure?": the page a form that cannot be undone (blocking a card, a token, a key file or
 * an employee) answers with first. It is a plain server-rendered form, so it works without
 * JavaScript; its button posts the same fields again with `confirm=yes` and the CSRF token.
 */
import { hidden, html, layout, postForm } from './layout.ts';

export interface ConfirmView {
  readonly csrf: string;
  /** Who is signed in, for the header. */
  readonly name: string;
  /** The question, e.g. "Block code card K123-456-789?" */
  readonly question: string;
  /** What happens, and that it cannot be undone. */
  readonly consequence: string;
  /** Where the confirmed form posts, and the fields it carries (besides `confirm`). */
  readonly action: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly confirmLabel: string;
  /** Where "No" goes back to. */
  readonly back: string;
}

export function confirmPage(view: ConfirmView): string {
  return layout({
    title: view.question,
    signedIn: { name: view.name, csrf: view.csrf },
    pageClass: 'narrow',
    body: html`<h1 id="confirm-question" tabindex="-1" autofocus>${view.question}</h1>
<p class="explain" id="confirm-consequence">${view.consequence}</p>
${postForm({
  csrf: view.csrf,
  action: view.action,
  id: 'confirm-form',
  body: html`${Object.entries(view.fields).map(([name, value]) => hidden(name, value))}${hidden('confirm', 'yes')}<button type="submit" id="confirm-submit" class="danger">${view.confirmLabel}</button>`,
})}
<p><a href="${view.back}" id="confirm-cancel">No, go back</a></p>`,
  });
}
