/**
 * The code card (nøglekort) as paper: its number at the top, the holder, an "Erhverv" mark on an
 * employee's card, and the 148 number/key pairs in a grid (the number in small type, its key
 * beside it), as a printable HTML page and as a PDF for the outbox. The pairs are laid out in
 * ascending order of their numbers, column by column, so a person finds the number the login page
 * shows as in a phone book; which pair the service asks for does not depend on the layout.
 */
import { createRequire } from 'node:module';
import type PDFKit from 'pdfkit';

/** pdfkit (about 24 MB once loaded) is loaded by the first card rendered, not by every server start. */
let pdfkit: typeof PDFKit | undefined;
function PDFDocumentClass(): typeof PDFKit {
  pdfkit ??= createRequire(import.meta.url)('pdfkit') as typeof PDFKit;
  return pdfkit;
}
import type { CardPair } from '../code-card.ts';
import { escapeHtml } from './html.ts';

export interface CardToRender {
  /** Printed on the card, e.g. `K123-456-789`. */
  readonly serial: string;
  readonly pairs: readonly CardPair[];
  /** An employee's card (medarbejdersignatur) carries the "Erhverv" mark. */
  readonly employee?: boolean;
  /** The holder's name. */
  readonly holder: string;
}

const COLUMNS = 4;

/** The pairs in reading order: ascending numbers, down each column, then the next column. */
export function cardColumns(pairs: readonly CardPair[]): CardPair[][] {
  const sorted = [...pairs].sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  const rows = Math.ceil(sorted.length / COLUMNS);
  return Array.from({ length: COLUMNS }, (_, column) => sorted.slice(column * rows, (column + 1) * rows));
}

/** The card's styles, shared by the card page and by letters that show the card inline. */
export const CARD_CSS = `
.code-card { font-family: "Helvetica Neue", Arial, sans-serif; color: #111; max-width: 46rem; margin: 1rem auto;
  border: 1px solid #777; border-radius: 0.6rem; padding: 1rem 1.2rem; background: #fff; }
.code-card header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 2px solid #0b3a6e; padding-bottom: 0.4rem; }
.code-card .brand { font-weight: 700; color: #0b3a6e; font-size: 1.3rem; }
.code-card .title { font-size: 0.85rem; color: #444; }
.code-card .serial { font-family: "Courier New", monospace; font-weight: 700; font-size: 1.2rem; letter-spacing: 0.05em; }
.code-card .holder { font-size: 0.85rem; margin: 0.4rem 0; }
.code-card .erhverv { display: inline-block; border: 2px solid #0b3a6e; color: #0b3a6e; font-weight: 700; text-transform: uppercase;
  font-size: 0.75rem; letter-spacing: 0.1em; padding: 0.1rem 0.4rem; margin-left: 0.5rem; }
.code-card table.pairs { border-collapse: collapse; width: 100%; margin-top: 0.4rem; }
.code-card table.pairs caption { text-align: left; font-size: 0.75rem; color: #444; padding-bottom: 0.2rem; }
.code-card table.pairs th, .code-card table.pairs td { padding: 0.08rem 0.4rem; white-space: nowrap; text-align: left; }
.code-card table.pairs thead th { font-size: 0.65rem; font-weight: 400; color: #444; border-bottom: 1px solid #bbb; }
.code-card table.pairs .pair-start { border-left: 1px solid #bbb; }
.code-card table.pairs tr > :first-child { border-left: none; }
.code-card table.pairs tbody tr:nth-child(even) > * { background: #eef2f7; }
.code-card .no { font-size: 0.65rem; font-weight: 400; color: #555; font-variant-numeric: tabular-nums; }
.code-card .key { font-family: "Courier New", monospace; font-weight: 700; font-size: 0.95rem; }
.code-card footer { font-size: 0.7rem; color: #444; margin-top: 0.5rem; }
@media print {
  body { margin: 0; }
  .code-card { border: 1px solid #000; box-shadow: none; max-width: none; margin: 0; page-break-inside: avoid; }
  .code-card table.pairs tbody tr:nth-child(even) > * { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .no-print { display: none; }
}
`;

/**
 * The card as an HTML fragment (a `<section class="code-card">`), to stand in a page with CARD_CSS.
 * A table with a caption: each number is a header cell, and its key's cell names it (`headers`)
 * with its column's "Key" header, so a screen reader reads a key with its number.
 */
export function cardSection(card: CardToRender): string {
  const columns = cardColumns(card.pairs);
  const rows = Math.max(0, ...columns.map((column) => column.length));
  const prefix = `card-${card.serial.replace(/[^A-Za-z0-9-]/g, '_')}`;
  const heads = columns
    .map((_, c) => `<th scope="col" id="${prefix}-number-${c}" class="pair-start">Number</th><th scope="col" id="${prefix}-key-${c}">Key</th>`)
    .join('');
  const body: string[] = [];
  for (let row = 0; row < rows; row++) {
    const cells = columns.map((column, c) => {
      const pair = column[row];
      if (!pair) return '<td class="pair-start"></td><td></td>';
      const number = escapeHtml(pair.number);
      const numberId = `${prefix}-n${number}`;
      return `<th id="${numberId}" headers="${prefix}-number-${c}" class="no pair-start">${number}</th><td headers="${numberId} ${prefix}-key-${c}"><span class="key" data-number="${number}">${escapeHtml(pair.key)}</span></td>`;
    });
    body.push(`<tr>${cells.join('')}</tr>`);
  }
  const mark = card.employee ? '<span class="erhverv" title="Employee card (medarbejdersignatur)">Erhverv</span>' : '';
  return `<section class="code-card" data-card="${escapeHtml(card.serial)}" aria-label="Code card ${escapeHtml(card.serial)}">
<header><span class="brand">NemID</span><span class="title">Code card (nøglekort) no.</span><span class="serial">${escapeHtml(card.serial)}</span></header>
<p class="holder">Holder: ${escapeHtml(card.holder)}${mark}</p>
<table class="pairs">
<caption>The ${card.pairs.length} keys of code card ${escapeHtml(card.serial)}, each beside its 4-digit number; numbers in ascending order, down each column.</caption>
<thead><tr class="heads">${heads}</tr></thead>
<tbody>
${body.join('\n')}
</tbody></table>
<footer>Find the number the login page shows and type the key beside it. Each key works once. Keep this card to yourself, away from your password; if you lose it, block it (spær) in self-service at once.</footer>
</section>`;
}

/** The card as a whole printable HTML page. */
export function cardHtml(card: CardToRender): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Code card (nøglekort) ${escapeHtml(card.serial)}</title>
<style>${CARD_CSS}</style>
</head>
<body>
${cardSection(card)}
</body>
</html>
`;
}

/**
 * The card as a PDF (A4, pdfkit's built-in standard fonts: nothing is downloaded). `compress:
 * false` writes the page's text uncompressed, so a test can read the pairs back from the bytes.
 * Synchronous underneath: pdfkit writes the whole file during `end()`.
 */
export function cardPdfSync(card: CardToRender, options: { compress?: boolean } = {}): Uint8Array {
  const PDFDocument = PDFDocumentClass();
  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    compress: options.compress ?? true,
    info: { Title: `NemID code card (nøglekort) ${card.serial}`, Subject: 'NemID code card', Creator: 'noegleviser' },
  });
  const left = 40;
  const width = doc.page.width - 2 * left;
  const blue = '#0b3a6e';

  doc.fillColor(blue).font('Helvetica-Bold').fontSize(20).text('NemID', left, 40, { lineBreak: false });
  doc.fillColor('#444444').font('Helvetica').fontSize(9).text('Code card (nøglekort) no.', left + 150, 48, { lineBreak: false });
  doc.fillColor('#000000').font('Courier-Bold').fontSize(15).text(card.serial, left, 45, { width, align: 'right', lineBreak: false });
  doc.moveTo(left, 68).lineTo(left + width, 68).lineWidth(1.5).strokeColor(blue).stroke();
  doc.fillColor('#000000').font('Helvetica').fontSize(9).text(`Holder: ${card.holder}`, left, 76, { width: width - 80, lineBreak: false, ellipsis: true });
  if (card.employee) {
    doc.rect(left + width - 64, 73, 64, 15).lineWidth(1.2).strokeColor(blue).stroke();
    doc.fillColor(blue).font('Helvetica-Bold').fontSize(9).text('ERHVERV', left + width - 64, 77, { width: 64, align: 'center', lineBreak: false });
  }

  const columns = cardColumns(card.pairs);
  const rows = Math.max(0, ...columns.map((column) => column.length));
  const top = 96;
  const rowHeight = 17;
  const columnWidth = width / COLUMNS;
  for (let row = 0; row < rows; row++) {
    const y = top + row * rowHeight;
    if (row % 2 === 1) doc.rect(left, y - 3, width, rowHeight).fillColor('#eef2f7').fill();
    columns.forEach((column, c) => {
      const pair = column[row];
      if (!pair) return;
      const x = left + c * columnWidth + 8;
      doc.fillColor('#555555').font('Helvetica').fontSize(7).text(pair.number, x, y + 2, { lineBreak: false });
      doc.fillColor('#000000').font('Courier-Bold').fontSize(11).text(pair.key, x + 28, y, { lineBreak: false });
    });
  }
  for (let c = 1; c < COLUMNS; c++) {
    const x = left + c * columnWidth;
    doc.moveTo(x, top - 3).lineTo(x, top - 3 + rows * rowHeight).lineWidth(0.5).strokeColor('#bbbbbb').stroke();
  }
  doc.rect(left, top - 3, width, rows * rowHeight).lineWidth(0.8).strokeColor('#777777').stroke();

  doc
    .fillColor('#444444')
    .font('Helvetica')
    .fontSize(7.5)
    .text(
      'Find the number the login page shows and type the key beside it. Each key works once. Keep this card to yourself, away from your password; if you lose it, block it (spær) in self-service at once.',
      left,
      top + rows * rowHeight + 8,
      { width },
    );
  doc.end();
  // Nothing reads the stream while pdfkit writes, so the whole file is buffered: read() takes it.
  const bytes: unknown = doc.read();
  if (!(bytes instanceof Uint8Array) || !Buffer.from(bytes.subarray(-8)).toString('latin1').includes('%%EOF')) {
    throw new Error('pdfkit did not write the whole card synchronously');
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The card as a PDF; see cardPdfSync. */
export async function cardPdf(card: CardToRender, options: { compress?: boolean } = {}): Promise<Uint8Array> {
  return cardPdfSync(card, options);
}
