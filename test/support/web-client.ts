/**
 * A browser without a browser, for HTTP-level tests of the service's pages: a cookie jar, forms
 * posted urlencoded with the page's CSRF token, redirects followed by hand (so tests see each 303),
 * and every response body kept so a test can search all of them for a leaked secret.
 */
export interface WebResponse {
  readonly status: number;
  readonly location: string | null;
  readonly body: string;
  readonly headers: Headers;
}

export class WebClient {
  /** Every body and Set-Cookie-less header block this client has received, in order. */
  readonly seen: string[] = [];
  lastPage = '';

  constructor(
    readonly base: string,
    private readonly cookies = new Map<string, string>(),
  ) {}

  async get(path: string): Promise<WebResponse> {
    return this.send('GET', path);
  }

  /** Posts a form with the CSRF token of the last page (unless `_csrf` is given, or `csrf: false`). */
  async post(path: string, fields: Record<string, string>, options: { csrf?: boolean } = {}): Promise<WebResponse> {
    const values = { ...fields };
    if (options.csrf !== false && values._csrf === undefined) values._csrf = csrfOf(this.lastPage);
    return this.send('POST', path, new URLSearchParams(values).toString(), 'application/x-www-form-urlencoded');
  }

  async postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<WebResponse> {
    return this.send('POST', path, JSON.stringify(body), 'application/json', headers);
  }

  /** The same browser talking to another node of a cluster at `base`: its cookies shared from now on, its last page (and CSRF token) carried over. */
  at(base: string): WebClient {
    const moved = new WebClient(base, this.cookies);
    moved.lastPage = this.lastPage;
    return moved;
  }

  /** The Cookie header this client sends, for a request made by other means (a burst). */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Any method, with this client's cookies, `body` sent as it is. */
  async request(method: string, path: string, body?: { readonly text: string; readonly type: string }, headers: Record<string, string> = {}): Promise<WebResponse> {
    return this.send(method, path, body?.text, body?.type, headers);
  }

  /** GET, following redirects within the site. */
  async open(path: string): Promise<WebResponse> {
    let response = await this.get(path);
    for (let hops = 0; response.location && hops < 5; hops++) response = await this.get(response.location);
    return response;
  }

  /** POST, then follow the 303 (if any) to the page it leads to. */
  async submit(path: string, fields: Record<string, string>, options: { csrf?: boolean } = {}): Promise<WebResponse> {
    const response = await this.post(path, fields, options);
    return response.location ? this.open(response.location) : response;
  }

  private async send(method: string, path: string, body?: string, type?: string, extra: Record<string, string> = {}): Promise<WebResponse> {
    const headers: Record<string, string> = { ...extra };
    if (type) headers['content-type'] = type;
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    const response = await fetch(new URL(path, this.base), { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    this.seen.push(text);
    if ((response.headers.get('content-type') ?? '').startsWith('text/html')) this.lastPage = text;
    return { status: response.status, location: response.headers.get('location'), body: text, headers: response.headers };
  }
}

/** The value of the page's hidden `_csrf` input. */
export function csrfOf(html: string): string {
  const input = /<input[^>]*name="_csrf"[^>]*>/.exec(html)?.[0];
  const value = input && /value="([^"]*)"/.exec(input)?.[1];
  if (!value) throw new Error('the page has no _csrf input');
  return value;
}

/** The attribute `name` of the first element with id `id`. */
export function attributeOf(html: string, id: string, name: string): string | undefined {
  const element = new RegExp(`<[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
  return element ? new RegExp(`\\b${name}="([^"]*)"`).exec(element)?.[1] : undefined;
}

/** What a letter says: its temporary password / activation code, and card keys by number. */
export function readLetter(html: string): { secret: (name: string) => string | undefined; keys: Map<string, string> } {
  const keys = new Map<string, string>();
  for (const match of html.matchAll(/data-number="(\d{4})"[^>]*>\s*(?:<[^>]+>\s*)*(\d{6})/g)) keys.set(match[1]!, match[2]!);
  return {
    secret: (name) => new RegExp(`data-secret="${name}"[^>]*>\\s*(?:<[^>]+>\\s*)*([^<\\s]+)`).exec(html)?.[1],
    keys,
  };
}

/** A CPR number (form and date valid) of someone `age` years old today: born 1 January, so no birthday edge; `serial` is its last four digits' pattern. */
export function cprOfAge(age: number, serial: string): string {
  const year = new Date().getUTCFullYear() - age;
  const yy = String(year % 100).padStart(2, '0');
  const seventh = year >= 2000 ? (year % 100 <= 36 ? '4' : '5') : '1';
  return `0101${yy}-${seventh}${serial.slice(1)}`;
}
