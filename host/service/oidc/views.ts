/** The provider's own pages: asking a person's consent for a site, and telling why a login stopped. */
import { html, layout, postForm, type SafeHtml } from '../web/views/layout.ts';

export interface ConsentView {
  readonly csrf: string;
  readonly flow: string;
  readonly siteName: string;
  /** What the site will learn, in words. */
  readonly sharing: readonly string[];
}

const SCOPE_WORDS: Readonly<Record<string, string>> = {
  openid: 'an identifier of you for this site only',
  profile: 'your name',
  nemid: "your NemID's scope (full, bank-only or view-only)",
  organisation: 'your organisation (CVR number and name) and role, if you log in with an employee signature',
  offline_access: 'to stay signed in while you are away',
};

export function sharingOf(scope: string): string[] {
  return scope
    .split(' ')
    .filter(Boolean)
    .map((name) => SCOPE_WORDS[name] ?? name);
}

export function consentPage(view: ConsentView): string {
  const button = (value: string, id: string, label: string, primary: boolean): SafeHtml =>
    html`<button type="submit" name="decision" value="${value}" id="${id}"${primary ? html` class="primary"` : ''}>${label}</button>`;
  return layout({
    title: 'Allow the site',
    pageClass: 'narrow',
    body: html`<h1 id="consent-question" tabindex="-1" autofocus>Log in to <span id="consent-site">${view.siteName}</span>?</h1>
<p>The site will learn:</p>
<ul id="consent-sharing">${view.sharing.map((line) => html`<li>${line}</li>`)}</ul>
${postForm({ csrf: view.csrf, action: `${view.flow}/consent`, id: 'consent-form', body: html`${button('allow', 'consent-allow', 'Allow', true)} ${button('deny', 'consent-deny', 'Do not allow', false)}` })}`,
  });
}

export function stoppedPage(title: string, message: string): string {
  return layout({ title, pageClass: 'narrow', body: html`<h1>${title}</h1><p class="error" role="alert" id="error" tabindex="-1" autofocus>${message}</p>` });
}
