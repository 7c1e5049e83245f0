// A small element tree with source positions, read with fast-xml-parser, and the
// minidom-like lookups the installer uses (xcp.xmlunwrap): recursive tag search,
// text of direct text children only, empty attributes counted as absent.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Direct text children joined (comments split text, CDATA sections are not text). */
  rawText: string;
  hasCdata: boolean;
  line: number;
  column: number;
}

export interface XmlSyntaxError {
  line?: number;
  column?: number;
  detail: string;
}

export type XmlReadResult = { root: XmlElement; error?: undefined } | { root?: undefined; error: XmlSyntaxError };

const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  captureMetaData: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  processEntities: true,
  // Needed for numeric character references; other HTML names are rejected before parsing.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

const METADATA = XMLParser.getMetaDataSymbol() as unknown as symbol;
const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** Maps string offsets to 1-based line and column (CRLF and lone CR count as one line end). */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

/** Checks expat would make that fast-xml-parser's validator does not. */
function extraSyntaxCheck(text: string, lines: LineIndex): XmlSyntaxError | undefined {
  // Entity declarations are refused outright: an answer file needs none, expat in
  // the installer would expand them (nested ones grow exponentially: "billion
  // laughs") and an external one names a file or URL to read.
  const declaration = /<!ENTITY\b/.exec(text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => ' '.repeat(m.length)));
  if (declaration) return { ...lines.at(declaration.index), detail: 'entity declarations (<!ENTITY ...>) are not allowed in an answer file' };
  const declared = new Set<string>();
  for (const m of text.matchAll(/<!ENTITY\s+([^\s%]+)/g)) declared.add(m[1]!);
  // Skip comments, CDATA, PIs and the DOCTYPE, then look at references and attribute values.
  const masked = text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE(?:[^[>]|\[[\s\S]*?\])*>/g, (m) => m.replace(/[^\n\r]/g, ' '));
  for (const m of masked.matchAll(/&([^;\s<&]*);/g)) {
    const name = m[1]!;
    if (XML_ENTITIES.has(name) || declared.has(name) || /^#(x[0-9a-fA-F]+|[0-9]+)$/.test(name)) continue;
    return { ...lines.at(m.index!), detail: `undefined entity '&${name};'` };
  }
  for (const m of masked.matchAll(/=\s*("[^"]*"|'[^']*')/g)) {
    const lt = m[1]!.indexOf('<');
    if (lt >= 0) return { ...lines.at(m.index! + m[0].indexOf(m[1]!) + lt), detail: "'<' is not allowed in an attribute value" };
  }
  return undefined;
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

function nodeName(node: OrderedNode): string {
  for (const k of Object.keys(node)) if (k !== ':@') return k;
  return '';
}

export function readXml(input: string): XmlReadResult {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lines = new LineIndex(text);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    // An unclosed element is reported as "Invalid '[ "a", "b" ]' found." at line 1.
    const open = /^Invalid '\[(.*)\]' found\.$/s.exec(msg);
    let detail = open ? `unclosed element(s): ${open[1]!.replace(/[\s",]+/g, ' ').trim().split(' ').join(', ')}` : msg;
    // Answer files copied from the vendor's PDF carry typographic quotes.
    if (/[\u201c\u201d\u2018\u2019]/.test(text)) detail += ' (the file has typographic quotes \u201c \u201d; XML needs plain " or \')';
    return { error: { line: open ? undefined : line, column: open ? undefined : col, detail } };
  }
  const extra = extraSyntaxCheck(text, lines);
  if (extra) return { error: extra };

  let ordered: OrderedNode[];
  try {
    ordered = new XMLParser(PARSER_OPTIONS).parse(text) as OrderedNode[];
  } catch (err) {
    // the parser refuses some documents its validator passes (an unclosed <?xml ...?>)
    return { error: { detail: (err as Error).message } };
  }
  const convert = (node: OrderedNode): XmlElement => {
    const name = nodeName(node);
    const meta = (node as Record<symbol, { startIndex?: number } | undefined>)[METADATA];
    const pos = lines.at(meta?.startIndex ?? 0);
    const el: XmlElement = { name, attrs: { ...(node[':@'] ?? {}) }, children: [], rawText: '', hasCdata: false, line: pos.line, column: pos.column };
    for (const child of node[name] as OrderedNode[]) {
      const childName = nodeName(child);
      if (childName === '#text') el.rawText += String(child['#text']);
      else if (childName === '#cdata') el.hasCdata = true;
      else if (childName !== '#comment') el.children.push(convert(child));
    }
    return el;
  };
  const tops = ordered.filter((n) => !nodeName(n).startsWith('#'));
  if (tops.length === 0) return { error: { line: 1, column: 1, detail: 'no root element' } };
  const root = convert(tops[0]!);
  if (tops.length > 1) {
    const second = convert(tops[1]!);
    return { error: { line: second.line, column: second.column, detail: `junk after document element: <${second.name}>` } };
  }
  return { root };
}

/** Like minidom's getElementsByTagName over several names: every descendant (not `el`
 * itself) named names[0] in document order, then those named names[1], and so on. */
export function elementsByTagName(el: XmlElement, names: readonly string[]): XmlElement[] {
  const found: XmlElement[] = [];
  for (const name of names) {
    const walk = (e: XmlElement) => {
      for (const c of e.children) {
        if (c.name === name) found.push(c);
        walk(c);
      }
    };
    walk(el);
  }
  return found;
}

/** xmlunwrap.getText: direct text children, stripped of ASCII white space. */
export function textOf(el: XmlElement): string {
  return el.rawText.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
}

/** xmlunwrap.getStrAttribute without mandatory handling: first non-empty of names. */
export function attributeOf(el: XmlElement, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = el.attrs[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** Every element in document order, root included. */
export function allElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => { out.push(e); e.children.forEach(walk); };
  walk(root);
  return out;
}
