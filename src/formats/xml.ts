// A small, bounded XML reader for the metadata vendors put in TIFF tags
// (Philips ImageDescription, Leica SCN ImageDescription, Ventana XMP): elements,
// attributes, text, CDATA, comments, processing instructions and the DOCTYPE
// skipped, the five predefined entities and character references decoded.
// No namespaces resolution (prefixes are kept in names), no DTD entities.
// Bad XML is E_MALFORMED; more than MAX_NODES elements or MAX_DEPTH nesting is
// E_TOO_LARGE. Isomorphic (no node: import).
import { ImageboxError } from '../errors.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The text directly inside this element (not its descendants'), concatenated. */
  text: string;
  parent: XmlElement | undefined;
}

const MAX_NODES = 200_000;
const MAX_DEPTH = 256;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

function fail(message: string): never {
  throw new ImageboxError('E_MALFORMED', `XML: ${message}`);
}

/** Parse a document; returns its root element. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  let nodes = 0;
  const top: XmlElement = { name: '#document', attributes: {}, children: [], text: '', parent: undefined };
  let cur = top;
  let depth = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      cur.text += decodeEntities(xml.slice(i));
      break;
    }
    if (lt > i) cur.text += decodeEntities(xml.slice(i, lt));
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9);
      if (end < 0) fail('unterminated CDATA');
      cur.text += xml.slice(lt + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!', lt)) {
      // DOCTYPE (possibly with an internal subset in brackets)
      let j = lt + 2;
      let bracket = 0;
      for (; j < n; j++) {
        const c = xml[j];
        if (c === '[') bracket++;
        else if (c === ']') bracket--;
        else if (c === '>' && bracket <= 0) break;
      }
      if (j >= n) fail('unterminated declaration');
      i = j + 1;
    } else if (xml[lt + 1] === '/') {
      const end = xml.indexOf('>', lt);
      if (end < 0) fail('unterminated end tag');
      const name = xml.slice(lt + 2, end).trim();
      if (name !== cur.name) fail(`</${name}> closes <${cur.name}>`);
      cur = cur.parent!;
      depth--;
      i = end + 1;
    } else {
      // start tag
      const m = /^<([^\s/>]+)/.exec(xml.slice(lt, lt + 256));
      if (!m) fail(`bad tag at ${lt}`);
      const name = m[1]!;
      let j = lt + m[0].length;
      const attributes: Record<string, string> = {};
      for (;;) {
        while (j < n && /\s/.test(xml[j]!)) j++;
        if (j >= n) fail(`unterminated <${name}>`);
        if (xml[j] === '>' || xml.startsWith('/>', j)) break;
        const eq = xml.indexOf('=', j);
        if (eq < 0) fail(`attribute without value in <${name}>`);
        const an = xml.slice(j, eq).trim();
        let k = eq + 1;
        while (k < n && /\s/.test(xml[k]!)) k++;
        const q = xml[k];
        if (q !== '"' && q !== "'") fail(`unquoted attribute ${an} in <${name}>`);
        const close = xml.indexOf(q, k + 1);
        if (close < 0) fail(`unterminated attribute ${an} in <${name}>`);
        attributes[an] = decodeEntities(xml.slice(k + 1, close));
        j = close + 1;
      }
      if (++nodes > MAX_NODES) throw new ImageboxError('E_TOO_LARGE', `XML: more than ${MAX_NODES} elements`);
      const el: XmlElement = { name, attributes, children: [], text: '', parent: cur };
      cur.children.push(el);
      if (xml[j] === '>') {
        if (++depth > MAX_DEPTH) throw new ImageboxError('E_TOO_LARGE', `XML: nested deeper than ${MAX_DEPTH}`);
        cur = el;
        i = j + 1;
      } else {
        i = j + 2;
      }
    }
  }
  if (cur !== top) fail(`<${cur.name}> is not closed`);
  const roots = top.children;
  if (roots.length !== 1) fail(roots.length === 0 ? 'no root element' : 'more than one root element');
  roots[0]!.parent = undefined;
  return roots[0]!;
}

/** The local part of a (possibly prefixed) name. */
export function localName(name: string): string {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(c + 1);
}

/** Child elements with this local name. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => localName(c.name) === name);
}

export function childNamed(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => localName(c.name) === name);
}

/** libxml's xmlNodeGetContent: the text of the element and all its descendants, in order. */
export function textContent(el: XmlElement): string {
  // our model keeps an element's own text in one string, so interleaving with children is lost;
  // for the leaf elements the readers ask about, that is the whole content
  return el.text + el.children.map(textContent).join('');
}

/** Every descendant (depth first, document order) with this local name. */
export function descendantsNamed(el: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of el.children) {
    if (localName(c.name) === name) out.push(c);
    descendantsNamed(c, name, out);
  }
  return out;
}
