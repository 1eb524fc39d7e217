/**
 * XML for PSKC, read defensively: a document type declaration (and with it any entity) is refused
 * before the parser sees the text, entity processing is off, and the text is checked to be
 * well-formed first. Namespace prefixes are dropped (PSKC writers use pskc:, xenc:, ds: or none).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SeedFileError } from './errors.ts';

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own text, trimmed. */
  readonly text: string;
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

/** Parses `text` as XML and returns its root element, or a coded error that never quotes the file. */
export function readXml(text: string): XmlElement {
  const body = text.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(body) || /<!ENTITY/i.test(body)) {
    throw new SeedFileError('NV_SEED_FILE_DTD', 'the file declares a document type (DTD); PSKC needs none, and DTDs and entities are refused');
  }
  if (!body.trimStart().startsWith('<')) throw new SeedFileError('NV_SEED_FILE_NOT_XML', 'the file is not XML (it does not start with a tag)');
  const verdict = XMLValidator.validate(body, { allowBooleanAttributes: false });
  if (verdict !== true) {
    const { line, col } = verdict.err;
    if (!/<\/([A-Za-z_][\w.-]*:)?KeyContainer\s*>\s*$/.test(body) && /^(InvalidTag|InvalidXml)$/.test(verdict.err.code)) {
      throw new SeedFileError('NV_SEED_FILE_TRUNCATED', `the XML ends before its KeyContainer closes (line ${line}, column ${col}): is the file truncated?`);
    }
    throw new SeedFileError('NV_SEED_FILE_NOT_XML', `the file is not well-formed XML (line ${line}, column ${col})`);
  }
  const nodes = parser.parse(body) as OrderedNode[];
  const roots = nodes.map(toElement).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new SeedFileError('NV_SEED_FILE_NOT_XML', `the file has ${roots.length} root elements; XML has one`);
  return roots[0]!;
}

function toElement(node: OrderedNode): XmlElement | undefined {
  const name = Object.keys(node).find((key) => key !== ':@' && key !== '#text');
  if (name === undefined) return undefined;
  const content = (node[name] as OrderedNode[] | undefined) ?? [];
  const children: XmlElement[] = [];
  let text = '';
  for (const part of content) {
    if (typeof part['#text'] === 'string' || typeof part['#text'] === 'number') text += String(part['#text']);
    else {
      const child = toElement(part);
      if (child) children.push(child);
    }
  }
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(node[':@'] ?? {})) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    attributes[key.replace(/^[^:]*:/, '')] = String(value);
  }
  return { name, attributes, children, text: text.trim() };
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => c.name === name) : [];
}

/** The element at the end of a path of child names. */
export function path(element: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let at = element;
  for (const name of names) at = child(at, name);
  return at;
}

/** Escapes text for an XML element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
