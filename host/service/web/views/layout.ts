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
  /**
   * The browser's own checks off: the service checks the fields and says what is wrong beside the
   * rules text, where a browser bubble would cover it.
   */
  readonly noValidate?: boolean;
  readonly body: Interpolation;
}

/** A urlencoded POST form that always carries the session's CSRF token. */
export function postForm(options: PostFormOptions): SafeHtml {
  const data = Object.entries(options.data ?? {}).map(([name, value]) => html` data-${name}="${value}"`);
  return html`<form method="post" action="${options.action}" enctype="application/x-www-form-urlencoded"${
    options.id ? html` id="${options.id}"` : ''
  }${options.className ? html` class="${options.className}"` : ''}${data}${options.noValidate ? html` novalidate` : ''}>${csrfField(options.csrf)}${options.body}</form>`;
}

/**
 * The page's error (announced at once) and notice, if any. `focus` names the one the focus goes to
 * when the page loads: the error when no input of the page is at fault, the notice after a change.
 */
export function messages(
  view: { readonly error?: string | undefined; readonly notice?: string | undefined },
  focus?: 'error' | 'notice',
): SafeHtml {
  const focusable = (which: 'error' | 'notice') => (focus === which ? html` tabindex="-1" autofocus` : '');
  return html`${view.error ? html`<p class="error" role="alert" id="error"${focusable('error')}>${view.error}</p>` : ''}${
    view.notice ? html`<p class="notice" role="status" id="notice"${focusable('notice')}>${view.notice}</p>` : ''
  }`;
}

export interface FieldState {
  /** The id of the field's rules text, which the field is described by. */
  readonly rules?: string;
  /** The page's error (`#error`) is about this field: it is marked invalid and described by the error. */
  readonly inError?: boolean;
  /** The focus goes here when the page loads. */
  readonly focus?: boolean;
}

/** An input's ARIA state: `aria-describedby` (error, rules), `aria-invalid`, and `autofocus`. */
export function fieldAttributes(state: FieldState): SafeHtml {
  const describedBy = [state.inError ? 'error' : '', state.rules ?? ''].filter(Boolean).join(' ');
  return html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${state.inError ? html` aria-invalid="true"` : ''}${state.focus ? html` autofocus` : ''}`;
}

/** A number whose digits a screen reader says one by one (`1234` as "1 2 3 4"), shown as it is. */
export function digits(number: string): SafeHtml {
  return html`<span aria-hidden="true">${number}</span><span class="visually-hidden">${number.split('').join(' ')}</span>`;
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
<p class="error" role="alert" id="error" tabindex="-1" autofocus>${view.message}</p>
${view.status !== undefined ? html`<p class="status-code">HTTP status ${view.status}</p>` : ''}
<p><a href="/login" id="back-to-login">Back to the login${da('log på')}</a></p>`,
  });
}
