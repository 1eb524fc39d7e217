/**
 * The rendered code card, HTML and PDF, from pairs the test makes itself. The PDF is read back with
 * a small content-stream reader written here (text position from `Tm`, text from hex strings in
 * `TJ`), so the check does not trust the renderer's idea of where it put anything.
 */
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CardPair } from '../code-card.ts';
import { cardHtml, cardPdf, cardSection } from './card-render.ts';

function testPairs(): CardPair[] {
  const numbers = new Set<string>();
  const keys = new Set<string>();
  while (numbers.size < 148) numbers.add(String(randomInt(10_000)).padStart(4, '0'));
  while (keys.size < 148) keys.add(String(randomInt(1_000_000)).padStart(6, '0'));
  const k = [...keys];
  // Not sorted: the renderer must not depend on the order it is given.
  return [...numbers].map((number, i) => ({ number, key: k[i]! }));
}

interface PdfText {
  readonly x: number;
  readonly y: number;
  readonly text: string;
}

/** Every text run of an uncompressed pdfkit page: its `Tm` position and its `TJ` strings joined. */
function pdfTexts(pdf: Uint8Array): PdfText[] {
  const source = Buffer.from(pdf).toString('latin1');
  const runs: PdfText[] = [];
  for (const block of source.matchAll(/BT\s+([\s\S]*?)\s+ET/g)) {
    const body = block[1]!;
    const tm = /([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) Tm/.exec(body);
    const tj = /\[([^\]]*)\] TJ/.exec(body);
    if (!tm || !tj) continue;
    const text = [...tj[1]!.matchAll(/<([0-9a-f]*)>/g)].map((m) => Buffer.from(m[1]!, 'hex').toString('latin1')).join('');
    runs.push({ x: Number(tm[5]), y: Number(tm[6]), text });
  }
  return runs;
}

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

describe('cardHtml', () => {
  it('shows every number with its own key, each pair exactly once', () => {
    const pairs = testPairs();
    const html = cardHtml({ serial: 'K123-456-789', pairs, holder: 'Anna Hansen' });
    expect(count(html, 'data-number=')).toBe(148);
    for (const { number, key } of pairs) {
      expect(count(html, `data-number="${number}">${key}</span>`)).toBe(1);
      expect(count(html, `>${key}<`)).toBe(1);
    }
  });

  it('is a whole printable page with the card number at the top', () => {
    const html = cardHtml({ serial: 'K123-456-789', pairs: testPairs(), holder: 'Anna Hansen' });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('@media print');
    const serialAt = html.indexOf('K123-456-789</span>');
    expect(serialAt).toBeGreaterThan(0);
    expect(serialAt).toBeLessThan(html.indexOf('data-number='));
  });

  it('lays the numbers out in ascending order down each column', () => {
    const pairs = testPairs();
    const html = cardSection({ serial: 'K1', pairs, holder: 'A' });
    const rows = [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/data-number="(\d{4})"/g)].map((m) => m[1]!));
    expect(rows).toHaveLength(37);
    const columnMajor = [0, 1, 2, 3].flatMap((c) => rows.map((row) => row[c]!));
    expect(columnMajor).toEqual(pairs.map((p) => p.number).sort());
  });

  it('is a table a screen reader reads a key with its number in: a caption, column headers, each key cell naming its number\'s header cell', () => {
    const pairs = testPairs();
    const html = cardSection({ serial: 'K123-456-789', pairs, holder: 'A' });
    expect(html).toMatch(/<table class="pairs">\s*<caption>[^<]*148 keys of code card K123-456-789/);
    expect(count(html, '<th scope="col"')).toBe(8);
    for (const { number, key } of pairs) {
      const numberCell = new RegExp(`<th id="([^"]+)" headers="[^"]+" class="no pair-start">${number}</th><td headers="([^"]+)"><span class="key" data-number="${number}">${key}</span></td>`).exec(html);
      expect(numberCell, `the number ${number} is a header cell beside its key`).not.toBeNull();
      const [, id, headers] = numberCell!;
      expect(headers!.split(' ')[0], `the key ${key} names its number's cell`).toBe(id);
      expect(count(html, `id="${id}"`)).toBe(1);
      expect(html).toContain(`id="${headers!.split(' ')[1]}"`);
    }
  });

  it('carries the Erhverv mark only on an employee card', () => {
    const pairs = testPairs();
    expect(cardHtml({ serial: 'K1', pairs, holder: 'A', employee: true })).toContain('>Erhverv<');
    expect(cardHtml({ serial: 'K1', pairs, holder: 'A' })).not.toContain('Erhverv');
  });

  it('escapes the holder and the serial', () => {
    const html = cardHtml({ serial: 'K1"><img src=x>', pairs: testPairs(), holder: '<script>alert(1)</script> & Co' });
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
  });
});

describe('cardPdf', () => {
  it('is a PDF whose text holds all 148 numbers, each beside its own key', async () => {
    const pairs = testPairs();
    const pdf = await cardPdf({ serial: 'K123-456-789', pairs, holder: 'Anna Hansen', employee: true }, { compress: false });
    expect(Buffer.from(pdf.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
    expect(Buffer.from(pdf.subarray(-8)).toString('latin1')).toContain('%%EOF');

    const texts = pdfTexts(pdf);
    const numbers = texts.filter((t) => /^\d{4}$/.test(t.text));
    const keys = texts.filter((t) => /^\d{6}$/.test(t.text));
    expect(numbers.map((t) => t.text).sort()).toEqual(pairs.map((p) => p.number).sort());
    expect(keys.map((t) => t.text).sort()).toEqual(pairs.map((p) => p.key).sort());
    for (const { number, key } of pairs) {
      const at = numbers.find((t) => t.text === number)!;
      // The key is the run on the same line just to the right of its number.
      const beside = keys.filter((t) => Math.abs(t.y - at.y) < 2 && t.x > at.x && t.x - at.x < 60);
      expect(beside.map((t) => t.text)).toEqual([key]);
    }
    expect(texts.map((t) => t.text)).toContain('K123-456-789');
    expect(texts.map((t) => t.text)).toContain('ERHVERV');
    expect(texts.some((t) => t.text.includes('Anna Hansen'))).toBe(true);
  });

  it('has no Erhverv mark on a personal card, and compresses by default', async () => {
    const pairs = testPairs();
    const plain = await cardPdf({ serial: 'K1', pairs, holder: 'A' }, { compress: false });
    expect(pdfTexts(plain).map((t) => t.text)).not.toContain('ERHVERV');
    const compressed = await cardPdf({ serial: 'K1', pairs, holder: 'A' });
    expect(Buffer.from(compressed.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
    expect(Buffer.from(compressed).toString('latin1')).toContain('/FlateDecode');
    expect(pdfTexts(compressed).filter((t) => /^\d{6}$/.test(t.text))).toEqual([]);
  });
});
