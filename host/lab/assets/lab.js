// The lab page's script: draws the token's 7-segment display from the segment patterns the debug
// link reports (and gives it a text a screen reader reads), announces each new code in a polite
// live region, presses the button through the server, sets the token's speaker from the read-aloud
// controls and says what the token says, and lists the outbox. No framework, no fetches beyond
// this server.

const SVG = 'http://www.w3.org/2000/svg';
const SEGMENT_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const DECIMAL_POINT = 0x80;
const CELL = 56;
const T = 8; // segment thickness

const display = document.getElementById('token-display');
const button = document.getElementById('token-button');
const status = document.getElementById('token-status');
const outbox = document.getElementById('outbox');
const outboxEmpty = document.getElementById('outbox-empty');
const refresh = document.getElementById('outbox-refresh');
const announcement = document.getElementById('token-announcement');
const readAloud = document.getElementById('token-read-aloud');
const volume = document.getElementById('token-volume');
const speed = document.getElementById('token-speed');
const said = document.getElementById('token-said');
const positions = Number(display.dataset.positions || '8');

function horizontal(x1, x2, y) {
  const h = T / 2;
  return [[x1, y], [x1 + h, y - h], [x2 - h, y - h], [x2, y], [x2 - h, y + h], [x1 + h, y + h]];
}
function vertical(x, y1, y2) {
  const h = T / 2;
  return [[x, y1], [x + h, y1 + h], [x + h, y2 - h], [x, y2], [x - h, y2 - h], [x - h, y1 + h]];
}
// Segment a..g of one cell (50 × 96), as on the firmware's display: a top, b top right, c bottom
// right, d bottom, e bottom left, f top left, g middle.
const SHAPES = {
  a: horizontal(10, 42, 8),
  b: vertical(44, 10, 46),
  c: vertical(44, 50, 86),
  d: horizontal(10, 42, 88),
  e: vertical(8, 50, 86),
  f: vertical(8, 10, 46),
  g: horizontal(10, 42, 48),
};

const cells = [];
function drawFace() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${positions * CELL + 8} 100`);
  svg.setAttribute('aria-hidden', 'true');
  for (let i = 0; i < positions; i++) {
    const cell = document.createElementNS(SVG, 'g');
    cell.setAttribute('class', 'digit');
    cell.setAttribute('data-position', String(i));
    cell.setAttribute('transform', `translate(${8 + i * CELL} 2) skewX(-6)`);
    const parts = {};
    for (const name of SEGMENT_NAMES) {
      const segment = document.createElementNS(SVG, 'polygon');
      segment.setAttribute('points', SHAPES[name].map((p) => p.join(',')).join(' '));
      segment.setAttribute('class', 'seg');
      segment.setAttribute('data-seg', name);
      cell.appendChild(segment);
      parts[name] = segment;
    }
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', '51');
    dot.setAttribute('cy', '88');
    dot.setAttribute('r', '4');
    dot.setAttribute('class', 'seg');
    dot.setAttribute('data-seg', 'dp');
    cell.appendChild(dot);
    parts.dp = dot;
    svg.appendChild(cell);
    cells.push(parts);
  }
  display.appendChild(svg);
}

// Answers can arrive out of order (a slow poll after a press): only a newer request's answer is drawn.
let issued = 0;
let drawn = 0;
let presses = 0;
/** The code the status line tells the person to type, while it is on the display and unused. */
let hint = null;

/** What the page draws when it cannot reach the token: nothing lit, as after the lab stopped. */
const DARK = { on: false, display: '', segments: [], used: false };

function show(face, ticket) {
  if (ticket < drawn) return;
  drawn = ticket;
  if (hint !== null && (!face.on || face.display !== hint || face.used)) {
    hint = null;
    setStatus(face.used ? 'That code was used; the next press after the display has gone dark shows a new one.' : '', false);
  }
  cells.forEach((parts, i) => {
    const pattern = face.segments[i] ?? 0;
    SEGMENT_NAMES.forEach((name, bit) => parts[name].classList.toggle('on', face.on && (pattern & (1 << bit)) !== 0));
    parts.dp.classList.toggle('on', face.on && (pattern & DECIMAL_POINT) !== 0);
  });
  display.classList.toggle('off', !face.on);
  display.dataset.text = face.on ? face.display : '';
  display.setAttribute('aria-label', face.on ? `Display: ${face.display ? digitByDigit(face.display) : 'blank'}` : 'Display: off');
  announce(face);
}

/** "755224" as a screen reader should read it, digit by digit ("7 5 5 2 2 4"); other text as it is. */
function digitByDigit(text) {
  return /^\d+$/.test(text) ? [...text].join(' ') : text;
}

/** The code last announced; forgotten when the display goes dark, so the next code is new. */
let announced = null;

function announce(face) {
  const code = face.on && /^\d{6,8}$/.test(face.display) ? face.display : null;
  if (code === null) {
    if (!face.on || face.display === '') announced = null;
    return;
  }
  if (code === announced) return;
  announced = code;
  announcement.dataset.code = code;
  announcement.textContent = `New code: ${digitByDigit(code)}`;
}

function setStatus(text, isError) {
  status.textContent = text;
  status.classList.toggle('error', Boolean(isError));
}

async function call(method, url, json) {
  let response;
  const headers = { 'x-requested-by': 'noegleviser-lab' };
  if (json !== undefined) headers['content-type'] = 'application/json';
  try {
    response = await fetch(url, { method, headers, cache: 'no-store', body: json === undefined ? undefined : JSON.stringify(json) });
  } catch {
    throw new Error('the lab does not answer (has it stopped?)');
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = body && typeof body.error === 'object' ? body.error : undefined;
    throw new Error(error && error.message ? `${error.message} (${error.code})` : `HTTP ${response.status}`);
  }
  return body;
}

async function press() {
  const ticket = ++issued;
  try {
    const face = await call('POST', '/lab/token/press');
    show(face, ticket);
    void listen();
    presses += 1;
    display.dataset.presses = String(presses);
    if (ticket < drawn) return;
    hint = face.on && face.display && !face.used ? face.display : null;
    setStatus(hint ? `Code ${hint}: type it into the login page` : 'Pressed', false);
  } catch (error) {
    show(DARK, ticket);
    setStatus(`Press failed: ${error.message}`, true);
  }
}

let readFailed = false;

async function readDisplay() {
  const ticket = ++issued;
  try {
    show(await call('GET', '/lab/token/display'), ticket);
    if (readFailed && ticket >= drawn) setStatus('', false);
    readFailed = false;
  } catch (error) {
    // Whatever the token shows now is not known here: a code drawn from before is not shown as if it were.
    show(DARK, ticket);
    readFailed = true;
    setStatus(`Display not read: ${error.message}`, true);
  }
}

// ---- read aloud: the token's speaker, and the browser's voice for it ----

/** How many times the token had spoken when the page last looked; null until it has looked once. */
let utterances = null;
// As with the display: an older look's answer arriving late is not taken.
let listens = 0;
let heard = 0;

function showAudio(settings) {
  readAloud.checked = settings.volume > 0;
  if (settings.volume > 0) volume.value = String(settings.volume);
  speed.value = String(settings.speed);
}

async function loadAudio() {
  try {
    showAudio(await call('GET', '/lab/token/audio'));
  } catch (error) {
    setStatus(`Read-aloud settings not read: ${error.message}`, true);
  }
}

async function setAudio(settings) {
  try {
    showAudio(await call('POST', '/lab/token/audio', settings));
  } catch (error) {
    setStatus(`Read-aloud not set: ${error.message}`, true);
    await loadAudio();
  }
}

/** The browser's own voice says what the token said, at its volume and speed (a lab has no speaker on the token). */
function speakInBrowser(speech) {
  if (!('speechSynthesis' in window) || speech.text === '') return;
  const utterance = new SpeechSynthesisUtterance(speech.text);
  utterance.lang = speech.voice === 'en' ? 'en-GB' : 'da-DK';
  utterance.rate = [0.6, 0.8, 1, 1.25, 1.5][speech.speed - 1] ?? 1;
  utterance.volume = Math.min(1, Math.max(0, 2 ** (speech.volume - 5)));
  window.speechSynthesis.cancel();
  window.speechSynthesis.speak(utterance);
}

async function listen() {
  const ticket = ++listens;
  let speech;
  try {
    speech = await call('GET', '/lab/token/speech');
  } catch {
    return;
  }
  if (ticket < heard) return;
  heard = ticket;
  const fresh = utterances !== null && speech.utterances > utterances;
  utterances = speech.utterances;
  if (!fresh || !readAloud.checked) return;
  said.textContent = `The token said: ${speech.text}`;
  speakInBrowser(speech);
}

readAloud.addEventListener('change', () => void setAudio({ volume: readAloud.checked ? Number(volume.value) : 0 }));
volume.addEventListener('change', () => {
  if (readAloud.checked) void setAudio({ volume: Number(volume.value) });
});
speed.addEventListener('change', () => void setAudio({ speed: Number(speed.value) }));

let shownLetters = '';
const seen = new Set();
let firstList = true;

function link(href, text, attributes) {
  const a = document.createElement('a');
  a.href = href;
  a.target = 'letter';
  a.textContent = text;
  for (const [name, value] of Object.entries(attributes)) a.setAttribute(name, value);
  return a;
}

async function listLetters() {
  let letters;
  try {
    letters = (await call('GET', '/lab/outbox')).letters;
  } catch (error) {
    outboxEmpty.textContent = `Outbox not read: ${error.message}`;
    return;
  }
  const key = JSON.stringify(letters.map((letter) => letter.id));
  if (key === shownLetters) return;
  shownLetters = key;
  outbox.replaceChildren();
  for (const letter of [...letters].reverse()) {
    const item = document.createElement('li');
    if (!firstList && !seen.has(letter.id)) item.classList.add('new');
    seen.add(letter.id);
    const base = `/lab/outbox/${encodeURIComponent(letter.id)}`;
    item.appendChild(link(base, letter.subject, { 'data-letter-id': letter.id }));
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `to ${letter.recipient} · ${letter.kind} · ${new Date(letter.at).toLocaleString()}`;
    item.appendChild(meta);
    if (letter.attachments.length > 0) {
      const attachments = document.createElement('span');
      attachments.className = 'attachments';
      for (const attachment of letter.attachments) {
        attachments.appendChild(link(`${base}/${encodeURIComponent(attachment.name)}`, attachment.name, { 'data-attachment': attachment.name }));
      }
      item.appendChild(attachments);
    }
    outbox.appendChild(item);
  }
  firstList = false;
  outboxEmpty.hidden = letters.length > 0;
  outboxEmpty.textContent = 'No letters yet (ingen breve).';
}

drawFace();
button.addEventListener('click', () => void press());
refresh.addEventListener('click', () => void listLetters());
void readDisplay();
void listLetters();
void loadAudio();
void listen();
// The token's display changes on its own (a code times out, a press on its terminal face) and letters arrive from the service.
setInterval(() => {
  if (document.visibilityState !== 'visible') return;
  void readDisplay();
  void listen();
}, 1000);
setInterval(() => {
  if (document.visibilityState === 'visible') void listLetters();
}, 2000);
