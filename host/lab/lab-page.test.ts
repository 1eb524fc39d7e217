/**
 * The lab page's routes over real HTTP on a real validation server (no browser; that is
 * test/e2e/lab-page.browser.test.ts): the page and its policy, the outbox as the Outbox module
 * wrote it, and coded JSON errors for every failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startHost, type RunningHost } from '../start.ts';
import type { LetterSummary } from '../service/outbox/outbox.ts';
import { tempDir } from '../../test/support/processes.ts';
import { registerLabPage } from './lab-page.ts';

describe('the lab page routes', () => {
  const dir = tempDir('labpage');
  const serial = 'NV1-<b>&"1';
  let server: RunningHost;
  let letter: LetterSummary;
  const letterHtml = `<!doctype html><p>Your temporary password: <b data-secret="temporary-password">${randomBytes(6).toString('hex')}</b></p>`;
  const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x00, 0xff, 0x10]);

  beforeAll(async () => {
    server = await startHost({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      port: 0,
      env: {},
      extend: (app, { service }) => registerLabPage(app, { debugAddress: path.join(dir, 'no-token.sock'), tokenSerial: serial, outbox: service.outbox }),
    });
    letter = await server.service.outbox.post({
      kind: 'welcome',
      personId: '1234567890',
      recipient: 'Karen Jensen',
      subject: 'Welcome to NemID',
      html: letterHtml,
      attachments: [{ name: 'card-K1.pdf', contentType: 'application/pdf', bytes: pdf }],
    });
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (route: string, init?: RequestInit) => fetch(server.url + route, init);
  const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

  it('GET /lab: one HTML page with the token, the outbox and the login frame, under a self-only policy', async () => {
    const response = await get('/lab');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const page = await response.text();
    for (const id of ['token-button', 'token-display', 'outbox']) expect(page).toContain(`id="${id}"`);
    expect(page).toMatch(/<iframe name="service"[^>]* src="\/login"/);
    expect(page).toContain('NV1-&lt;b&gt;&amp;&quot;1');
    expect(page).not.toContain(serial);
    // Everything the page loads is on this server.
    for (const [, url] of page.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^\//);
  });

  it('serves its own script and style, and nothing else under /lab/assets', async () => {
    const script = await get('/lab/assets/lab.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('/lab/token/press');
    expect((await get('/lab/assets/lab.css')).headers.get('content-type')).toMatch(/^text\/css/);
    for (const name of ['..%2Flab-page.ts', 'lab-page.ts', '%2E%2E%2F%2E%2E%2Fpackage.json']) {
      const response = await get(`/lab/assets/${name}`);
      expect(response.status).toBe(404);
      expect((await errorOf(response)).code).toBe('NV_NO_ASSET');
    }
  });

  it('a press needs the lab header: a cross-site form post is refused', async () => {
    const response = await get('/lab/token/press', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    expect([403, 415]).toContain(response.status);
    const bare = await get('/lab/token/press', { method: 'POST' });
    expect(bare.status).toBe(403);
    expect((await errorOf(bare)).code).toBe('NV_LAB_FORBIDDEN');
  });

  /** A request with a Host header of our choosing and the path exactly as written (fetch would normalise it). */
  async function raw(host: string, method: string, route: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const { request } = await import('node:http');
    const url = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method, path: route, headers: { ...headers, host } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers only to a loopback host name: a rebound DNS name gets 403 and no letter', async () => {
    const port = new URL(server.url).port;
    expect((await raw(`attacker.example:${port}`, 'GET', '/lab/outbox')).status).toBe(403);
    expect((await raw('attacker.example', 'GET', '/lab')).status).toBe(403);
    expect((await raw(`localhost:${port}`, 'GET', '/lab/outbox')).status).toBe(200);
    expect((await raw(`127.0.0.1:${port}`, 'GET', '/lab')).status).toBe(200);
    expect((await raw(`[::1]:${port}`, 'GET', '/lab')).status).toBe(200);
  });

  it('however the path is spelled (percent-encoded, double slashes, dots, upper case), a rebound name lists, opens and presses nothing', async () => {
    const port = new URL(server.url).port;
    const secret = /data-secret="temporary-password">([0-9a-f]+)</.exec(letterHtml)![1]!;
    const encodedId = `%${letter.id.charCodeAt(0).toString(16)}${letter.id.slice(1)}`;
    const press = { 'x-requested-by': 'noegleviser-lab' };
    const variants: [method: string, route: string][] = [];
    for (const lab of ['/lab', '/%6cab', '/%6Cab', '/l%61b', '/%6c%61%62', '/%4C%41%42', '//lab', '/x/../lab', '/./lab', '/LAB', '/Lab']) {
      variants.push(['GET', `${lab}/outbox`], ['GET', `${lab}/outbox/${letter.id}`], ['POST', `${lab}/token/press`], ['GET', `${lab}/token/display`], ['GET', lab]);
    }
    variants.push(
      ['GET', '/lab/%6futbox'],
      ['GET', '/lab//outbox'],
      ['GET', `/lab/outbox/${encodedId}`],
      ['GET', `/%6cab/outbox/${letter.id}/card-K1.pdf`],
      ['GET', '/%6cab/assets/lab.js'],
      ['POST', '/lab/token/%70ress'],
      ['POST', '/lab/x/../token/press'],
    );
    let routed = 0;
    for (const [method, route] of variants) {
      const headers = method === 'POST' ? press : {};
      // What the router makes of this spelling, asked from loopback: a lab route, or none.
      const fromLoopback = await raw(`127.0.0.1:${port}`, method, route, headers);
      const fromAttacker = await raw(`attacker.example:${port}`, method, route, headers);
      const reachesLab = fromLoopback.status !== 404 || JSON.parse(fromLoopback.text).error.code !== 'NV_NO_ROUTE';
      if (reachesLab) routed++;
      const code = (JSON.parse(fromAttacker.text) as { error?: { code?: string } }).error?.code;
      expect({ method, route, status: fromAttacker.status, code }).toEqual({ method, route, ...(reachesLab ? { status: 403, code: 'NV_LAB_FORBIDDEN' } : { status: 404, code: 'NV_NO_ROUTE' }) });
      expect(fromAttacker.text).not.toContain(secret);
      expect(fromAttacker.text).not.toContain(letter.id);
    }
    // The encoded spellings do reach the lab's routes (from loopback): the guard above was really tried on them.
    expect((await raw(`localhost:${port}`, 'GET', '/%6cab/outbox')).text).toContain(letter.id);
    expect((await raw(`localhost:${port}`, 'GET', `/%6cab/outbox/${letter.id}`)).text).toContain(secret);
    expect((await raw(`localhost:${port}`, 'POST', '/%6cab/token/press', press)).status).toBe(502);
    expect(routed).toBeGreaterThanOrEqual(5 * 4 + 6);
  });

  it('the face has a text a screen reader reads, codes are announced in a polite live region, and the read-aloud controls are labelled', async () => {
    const page = await (await get('/lab')).text();
    expect(page).toMatch(/<div id="token-display" class="lcd" role="img" aria-label="Display: off"/);
    expect(page).toMatch(/<p id="token-announcement" class="visually-hidden" aria-live="polite" aria-atomic="true"/);
    for (const id of ['token-read-aloud', 'token-volume', 'token-speed']) {
      expect(page).toMatch(new RegExp(`<label[^>]*(for="${id}"[^>]*>|>\\s*<input[^>]*id="${id}")`));
    }
    expect(page).toContain("<legend>The token's speaker (oplæsning)</legend>");
  });

  it('setting the speaker needs the lab header, and only takes whole volumes 0..5 and speeds 1..5', async () => {
    const lab = { 'x-requested-by': 'noegleviser-lab', 'content-type': 'application/json' };
    const post = (body: string, headers: Record<string, string> = lab) => get('/lab/token/audio', { method: 'POST', headers, body });
    const bare = await post('{"volume":3}', { 'content-type': 'application/json' });
    expect(bare.status).toBe(403);
    expect((await errorOf(bare)).code).toBe('NV_LAB_FORBIDDEN');
    for (const body of ['{"volume":6}', '{"volume":-1}', '{"speed":0}', '{"speed":2.5}', '{"speed":"3"}', '{"pitch":2}', '[3]', '3']) {
      const refused = await post(body);
      expect({ body, status: refused.status, code: (await errorOf(refused)).code }).toEqual({ body, status: 400, code: 'NV_BAD_REQUEST' });
    }
    // In range, it reaches for the token, which is not running here.
    expect((await errorOf(await post('{"volume":0,"speed":5}'))).code).toBe('NV_LAB_TOKEN_UNREACHABLE');
  });

  it('without a running token, press and display answer a coded 502', async () => {
    const press = await get('/lab/token/press', { method: 'POST', headers: { 'x-requested-by': 'noegleviser-lab' } });
    expect(press.status).toBe(502);
    expect((await errorOf(press)).code).toBe('NV_LAB_TOKEN_UNREACHABLE');
    const display = await get('/lab/token/display');
    expect(display.status).toBe(502);
    expect((await errorOf(display)).code).toBe('NV_LAB_TOKEN_UNREACHABLE');
    for (const route of ['/lab/token/speech', '/lab/token/audio']) {
      const response = await get(route);
      expect(response.status).toBe(502);
      expect((await errorOf(response)).code).toBe('NV_LAB_TOKEN_UNREACHABLE');
    }
  });

  it('lists the outbox and opens a letter as it was posted, in a sandbox, never cached', async () => {
    const list = await get('/lab/outbox');
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toBe('no-store');
    expect(((await list.json()) as { letters: LetterSummary[] }).letters).toEqual([letter]);

    const opened = await get(`/lab/outbox/${letter.id}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(opened.headers.get('cache-control')).toBe('no-store');
    expect(opened.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    expect(await opened.text()).toBe(letterHtml);
  });

  it('serves an attachment byte for byte with its content type', async () => {
    const response = await get(`/lab/outbox/${letter.id}/card-K1.pdf`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''card-K1.pdf");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(pdf);
  });

  it.each([
    ['an unknown letter', () => '/lab/outbox/9999-welcome'],
    ['a letter id that climbs out', () => '/lab/outbox/..%2F..%2Fserver'],
    ['an attachment the letter does not list', () => `/lab/outbox/${letter.id}/letter.json`],
    ['an attachment name that climbs out', () => `/lab/outbox/${letter.id}/..%2F..%2Fserver%2Ftokens.db`],
  ])('%s: 404 NV_NO_LETTER', async (_what, route) => {
    const response = await get(route());
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'NV_NO_LETTER' });
  });
});

describe("the lab page's link to the latest simulation report", () => {
  const dir = tempDir('labsim');
  const reportDir = path.join(dir, 'simulation');
  let server: RunningHost;

  beforeAll(async () => {
    server = await startHost({
      dbFile: path.join(dir, 'server', 'tokens.db'),
      port: 0,
      env: {},
      extend: (app, { service }) => registerLabPage(app, { debugAddress: path.join(dir, 'no-token.sock'), tokenSerial: '40000001', outbox: service.outbox, simulationReportDir: reportDir }),
    });
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('links /lab/simulation, which says how to make a report until there is one, then serves it in a sandbox', async () => {
    const page = await (await fetch(server.url + '/lab')).text();
    expect(page).toMatch(/<a id="simulation-report" href="\/lab\/simulation"/);
    const before = await fetch(server.url + '/lab/simulation');
    expect(before.status).toBe(404);
    expect(((await before.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'NV_NO_SIMULATION_REPORT', message: expect.stringContaining('noegleviser simulate') });
    fs.mkdirSync(reportDir, { recursive: true });
    const html = `<!doctype html><title>report</title><canvas id="plot-weekly"></canvas><script>document.title = 'drawn'</script>`;
    fs.writeFileSync(path.join(reportDir, 'report.html'), html);
    const after = await fetch(server.url + '/lab/simulation');
    expect(after.status).toBe(200);
    expect(after.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(after.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts;/);
    expect(after.headers.get('content-security-policy')).not.toContain('allow-same-origin');
    expect(await after.text()).toBe(html);
  });
});
