/**
 * The frame every service page shares (header, "signed in as", stylesheet, module scripts) and the
 * small building blocks the views are made of. Markup is written with the `html` tag, which
 * escapes every interpolated value unless it is already `SafeHtml`, so a view cannot forget to
 * escape; and every POST form is made by `postForm`, which always carries the CSRF field.
 */
import { escapeHtml } from '../../outbox/html.ts';

/** Markup that is already safe: written here, or built by `html` from escaped values. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What `html` accepts: text and numbers are escaped; `null`, `undefined` and `false` render nothing. */
export type Interpolation = SafeHtml | string | number | null | undefined | false | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** A Danish term beside the English one: ` (nøglekort)`, marked as Danish for screen readers. */
export function da(term: string): SafeHtml {
  return html` <span lang="da">(${term})</span>`;
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

export interface PostFormOptions {
  readonly csrf: string;
  readonly action: string;
  readonly id?: string;
  readonly className?: string;
  /** `data-*` attributes, without the `data-` prefix. */
  readonly data?: Readonly<Record<string, string>>;
  readonly body: Interpolation;
}

/** A urlencoded POST form that always carries the session's CSRF token. */
export function postForm(options: PostFormOptions): SafeHtml {
  const data = Object.entries(options.data ?? {}).map(([name, value]) => html` data-${name}="${value}"`);
  return html`<form method="post" action="${options.action}" enctype="application/x-www-form-urlencoded"${
    options.id ? html` id="${options.id}"` : ''
  }${options.className ? html` class="${options.className}"` : ''}${data}>${csrfField(options.csrf)}${options.body}</form>`;
}

/** The page's error (announced at once) and notice, if any. */
export function messages(view: { readonly error?: string | undefined; readonly notice?: string | undefined }): SafeHtml {
  return html`${view.error ? html`<p class="error" role="alert" id="error">${view.error}</p>` : ''}${
    view.notice ? html`<p class="notice" role="status" id="notice">${view.notice}</p>` : ''
  }`;
}

/** A hidden input (kind, id…) for a form. */
export function hidden(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

export interface SignedIn {
  readonly name: string;
  readonly csrf: string;
}

export interface LayoutOptions {
  readonly title: string;
  readonly body: Interpolation;
  /** When set, the header shows who is signed in and the log-out form (`form#logout-form`). */
  readonly signedIn?: SignedIn | undefined;
  /** Module scripts under /assets/, e.g. `key-file-login.js`. */
  readonly scripts?: readonly string[];
  /** A class on `<main>`, for page-specific layout. */
  readonly pageClass?: string;
}

/** A whole HTML page. */
export function layout(options: LayoutOptions): string {
  const signedIn = options.signedIn
    ? html`<div class="signed-in"><span id="signed-in-as">Signed in as <strong>${options.signedIn.name}</strong></span>${postForm({
        csrf: options.signedIn.csrf,
        action: '/logout',
        id: 'logout-form',
        body: html`<button type="submit" id="logout-submit" class="link-button">Log out${da('log af')}</button>`,
      })}</div>`
    : '';
  const scripts = (options.scripts ?? []).map((name) => html`<script type="module" src="/assets/${name}"></script>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · NemID-style service</title>
<link rel="stylesheet" href="/assets/service.css">
${scripts}
</head>
<body>
<header class="site-header">
<a class="brand" href="/login"><span class="brand-mark" aria-hidden="true">N</span> NemID-style service · noegleviser</a>
${signedIn}
</header>
<main${options.pageClass ? html` class="${options.pageClass}"` : ''}>
${options.body}
</main>
<footer class="site-footer"><p>A simulation for labs and tests: no real NemID, no real personal data.</p></footer>
</body>
</html>
`.text;
}

export interface MessageView {
  readonly title: string;
  readonly message: string;
  /** The HTTP status the page is sent with, shown small. */
  readonly status?: number;
}

/** An error or stop page (e.g. "Locked (spærret)") with the way back to the login. */
export function messagePage(view: MessageView): string {
  return layout({
    title: view.title,
    pageClass: 'narrow',
    body: html`<h1>${view.title}</h1>
<p class="error" role="alert" id="error">${view.message}</p>
${view.status !== undefined ? html`<p class="status-code">HTTP status ${view.status}</p>` : ''}
<p><a href="/login" id="back-to-login">Back to the login${da('log på')}</a></p>`,
  });
}
