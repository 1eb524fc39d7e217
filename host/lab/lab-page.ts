/**
 * The lab in a browser (`npm start`): one page at /lab with the emulated token's face (its
 * 7-segment display and a round button, driven through the token's debug link), the service's
 * outbox, and the service's login page beside them, so a newcomer presses the token and logs in
 * with its code in one window. The face reads as text to a screen reader, each new code is
 * announced in a polite live region, and a read-aloud control turns the token's speaker on (its
 * volume and speed, as a host's `audio` sets them) and has the browser say what the token says.
 *
 * Lab only. The outbox routes hand out letters whole, temporary passwords and card keys included,
 * and the token routes press a token's button from afar: they exist only on a server the lab
 * registers them on (bin/lab-run.ts), never on a validation server a bank would run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../protocol/coded-error.ts';
import { DEBUG_ARGS } from '../../protocol/debug/messages.ts';
import { escapeHtml } from '../service/outbox/html.ts';
import type { Outbox } from '../service/outbox/outbox.ts';
import { DEFAULT_SIMULATION_REPORT_DIR, registerSimulationReport } from './simulation-report.ts';
import { TokenLink, type TokenFace } from './token-link.ts';

export interface LabPageOptions {
  /** The emulator's debug-link socket (`RunningEmulator.debug`). */
  readonly debugAddress: string;
  /** Shown on the token's face (`RunningEmulator.serial`). */
  readonly tokenSerial: string;
  /** The service's outbox (`NemIdService.outbox`). */
  readonly outbox: Outbox;
  /**
   * Whether the code now on the display was accepted by the server already (the lab knows which
   * press showed it); the page then stops asking for it to be typed. Without it, never.
   */
  readonly codeUsed?: (display: string) => Promise<boolean>;
  /** The folder of the latest simulation report, linked from the page (default: DEFAULT_SIMULATION_REPORT_DIR). */
  readonly simulationReportDir?: string;
}

/** The display's positions, as the emulator has them; the page draws whatever the link reports. */
const POSITIONS = 8;

const ASSETS: Readonly<Record<string, string>> = {
  'lab.css': 'text/css; charset=utf-8',
  'lab.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** The page and its assets come from this server only; the service's pages load in its frames. */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** A letter or attachment is a document: no script runs in it, and only the lab page may frame it. */
const LETTER_POLICY = ["sandbox", "default-src 'none'", "style-src 'unsafe-inline'", "img-src 'self' data:", "frame-ancestors 'self'"].join('; ');

/**
 * Cross-site pages can post a form but not set a header without a CORS preflight, which this
 * server never answers: the header keeps another site from pressing the lab's token.
 */
const LAB_HEADER = 'x-requested-by';
/** Host names as fastify gives them (`request.hostname`, the port taken off). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const LAB_HEADER_VALUE = 'noegleviser-lab';

export async function registerLabPage(app: FastifyInstance, options: LabPageOptions): Promise<void> {
  const assets = new Map<string, { type: string; body: string }>();
  for (const [name, type] of Object.entries(ASSETS)) {
    assets.set(name, { type, body: await fs.promises.readFile(path.join(import.meta.dirname, 'assets', name), 'utf8') });
  }
  const page = labPageHtml(options.tokenSerial);
  const token = new TokenLink(options.debugAddress);
  app.addHook('onClose', async () => token.close());
  // Every lab route is in this one plugin, and its guard is a hook on the plugin: it runs on each
  // request the router gave to a lab route, however the path was spelled (%6cab, …), never on a
  // prefix of the raw URL. Only a loopback name gets an answer: a page on another site that rebinds
  // its DNS name to 127.0.0.1 (or a neighbour, if the lab listens wider) gets no letters and no presses.
  await app.register(async (lab) => {
    lab.addHook('onRequest', async (request) => {
      if (!LOOPBACK_HOSTS.has(request.hostname)) {
        throw new CodedError('NV_LAB_FORBIDDEN', 'the lab answers only on 127.0.0.1, [::1] or localhost', 403);
      }
    });
    registerLabRoutes(lab, { page, assets, token, outbox: options.outbox, codeUsed: options.codeUsed });
    registerSimulationReport(lab, path.resolve(options.simulationReportDir ?? DEFAULT_SIMULATION_REPORT_DIR));
  });
}

interface LabParts {
  readonly page: string;
  readonly assets: ReadonlyMap<string, { readonly type: string; readonly body: string }>;
  readonly token: TokenLink;
  readonly outbox: Outbox;
  readonly codeUsed: LabPageOptions['codeUsed'];
}

/** The display as the page draws it: the face, and whether the code on it is used up. */
export interface LabFace extends TokenFace {
  readonly used: boolean;
}

function registerLabRoutes(lab: FastifyInstance, { page, assets, token, outbox, codeUsed }: LabParts): void {
  const withUse = async (face: TokenFace): Promise<LabFace> => {
    if (!codeUsed || !face.on || face.display === '') return { ...face, used: false };
    // Not knowing is not used: the page keeps asking for a code rather than fail to draw it.
    return { ...face, used: await codeUsed(face.display).catch(() => false) };
  };
  lab.get('/lab', async (_request, reply) => html(reply, PAGE_POLICY).send(page));
  lab.get<{ Params: { name: string } }>('/lab/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) throw new CodedError('NV_NO_ASSET', 'no such lab asset', 404);
    return reply.type(asset.type).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(asset.body);
  });

  lab.post('/lab/token/press', async (request, reply) => {
    requireLabHeader(request);
    return noStore(reply).send(await withUse(await token.press()));
  });
  lab.get('/lab/token/display', async (_request, reply) => noStore(reply).send(await withUse(await token.read())));
  lab.get('/lab/token/speech', async (_request, reply) => noStore(reply).send(await token.speech()));
  lab.get('/lab/token/audio', async (_request, reply) => noStore(reply).send(await token.audio()));
  lab.post('/lab/token/audio', async (request, reply) => {
    requireLabHeader(request);
    return noStore(reply).send(await token.audio(audioSettings(request.body)));
  });

  lab.get('/lab/outbox', async (_request, reply) => noStore(reply).send({ letters: await outbox.list() }));
  const letter = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const { html: body } = await outbox.open(request.params.id);
    return noStore(html(reply, LETTER_POLICY)).send(body);
  };
  lab.get<{ Params: { id: string } }>('/lab/outbox/:id', letter);
  lab.get<{ Params: { id: string; name: string } }>('/lab/outbox/:id/:name', async (request, reply) => {
    const attachment = await outbox.attachment(request.params.id, request.params.name);
    const disposition = /^(image\/|application\/pdf$|text\/plain)/.test(attachment.contentType) ? 'inline' : 'attachment';
    return noStore(reply)
      .type(attachment.contentType)
      .header('content-security-policy', LETTER_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `${disposition}; filename*=UTF-8''${encodeURIComponent(attachment.name)}`)
      .send(Buffer.from(attachment.bytes.buffer, attachment.bytes.byteOffset, attachment.bytes.byteLength));
  });
}

/** `{volume?, speed?}`, whole numbers in the speaker's ranges; anything else is refused before the token is asked. */
function audioSettings(body: unknown): { volume?: number; speed?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CodedError('NV_BAD_REQUEST', 'the speaker settings are a JSON object {"volume":0..5,"speed":1..5}', 400);
  const settings: { volume?: number; speed?: number } = {};
  for (const [name, value] of Object.entries(body)) {
    if (name !== 'volume' && name !== 'speed') throw new CodedError('NV_BAD_REQUEST', `the speaker has no setting "${name.slice(0, 40)}"`, 400);
    const { min, max } = DEBUG_ARGS.audio[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new CodedError('NV_BAD_REQUEST', `"${name}" must be a whole number from ${min} to ${max}`, 400);
    }
    settings[name] = value;
  }
  return settings;
}

function requireLabHeader(request: FastifyRequest): void {
  if (request.headers[LAB_HEADER] !== LAB_HEADER_VALUE) {
    throw new CodedError('NV_LAB_FORBIDDEN', `a lab action needs the header "${LAB_HEADER}: ${LAB_HEADER_VALUE}" (the lab page sends it)`, 403);
  }
}

function html(reply: FastifyReply, policy: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', policy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

/** Letters hold temporary passwords, and a display a code: neither belongs in a cache. */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

function options(values: readonly number[], selected: number, label: (value: number) => string): string {
  return values.map((value) => `<option value="${value}"${value === selected ? ' selected' : ''}>${label(value)}</option>`).join('');
}

/** The page itself; lab.js draws the display and fills the outbox. */
export function labPageHtml(tokenSerial: string): string {
  const serial = escapeHtml(tokenSerial);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>noegleviser lab</title>
<link rel="icon" href="/lab/assets/favicon.svg">
<link rel="stylesheet" href="/lab/assets/lab.css">
<script type="module" src="/lab/assets/lab.js"></script>
</head>
<body>
<header>
<h1>noegleviser lab</h1>
<p>Press the code token (nøgleviser), read its code, and log in with it on the right. Letters the service sends arrive in the outbox (post).</p>
<p class="simulation"><a id="simulation-report" href="/lab/simulation" target="_blank" rel="noopener">Latest simulation report</a> (a fleet's year in a pocket: <code>noegleviser simulate</code>)</p>
</header>
<main>
<section class="bench">
<div class="desk">
<figure class="token" id="token" data-serial="${serial}">
<div class="token-body">
<div id="token-display" class="lcd" role="img" aria-label="Display: off" data-text="" data-presses="0" data-positions="${POSITIONS}"></div>
<button id="token-button" type="button" aria-label="Press the token's button" title="Press the button"></button>
</div>
<figcaption>Code token (nøgleviser) <span class="serial">${serial}</span></figcaption>
<p id="token-status" role="status"></p>
<p id="token-announcement" class="visually-hidden" aria-live="polite" aria-atomic="true" data-code=""></p>
</figure>
<div class="desk-side">
<fieldset id="token-audio" class="read-aloud">
<legend>The token's speaker (oplæsning)</legend>
<label class="check"><input type="checkbox" id="token-read-aloud"> Read aloud</label>
<label for="token-volume">Volume</label>
<select id="token-volume">${options([1, 2, 3, 4, 5], 3, String)}</select>
<label for="token-speed">Speed</label>
<select id="token-speed">${options([1, 2, 3, 4, 5], 3, (n) => (n === 1 ? '1 slow' : n === 5 ? '5 fast' : String(n)))}</select>
<p id="token-said"></p>
</fieldset>
<section class="outbox" aria-labelledby="outbox-title">
<h2 id="outbox-title">Outbox (post) <button id="outbox-refresh" type="button">Refresh</button></h2>
<ol id="outbox"></ol>
<p id="outbox-empty" class="empty">No letters yet (ingen breve).</p>
</section>
</div>
</div>
<iframe name="letter" id="letter" title="The letter you opened"></iframe>
</section>
<section class="service">
<iframe name="service" id="service" src="/login" title="The service's login page"></iframe>
</section>
</main>
</body>
</html>
`;
}
