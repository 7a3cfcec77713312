// XML for the S3 wire: a writer for responses and a small, strict reader for the request bodies
// S3 accepts (DeleteObjects, CreateBucketConfiguration, CompleteMultipartUpload). The reader knows
// elements, text, CDATA and the five predefined and numeric entities; it refuses DOCTYPE and
// processing instructions other than the XML declaration, so no entity expansion can blow up.
import { S3Error } from './errors';

export const S3_XML_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** An element: name and either text or child elements (absent values are skipped). */
export type XmlNode = readonly [name: string, content: string | number | boolean | readonly (XmlNode | null)[]];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char]!);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** A whole document: declaration, then the root element (with the S3 namespace when asked). */
export function xmlDocument(root: XmlNode, options: { namespace?: boolean } = {}): string {
  const [name, content] = root;
  const attributes = options.namespace === false ? '' : ` xmlns="${S3_XML_NAMESPACE}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${name}${attributes}>${renderContent(content)}</${name}>`;
}

function renderNode(node: XmlNode): string {
  const [name, content] = node;
  return `<${name}>${renderContent(content)}</${name}>`;
}

function renderContent(content: XmlNode[1]): string {
  if (typeof content === 'string') return escapeXml(content);
  if (typeof content === 'number' || typeof content === 'boolean') return String(content);
  let out = '';
  for (const child of content) if (child !== null) out += renderNode(child);
  return out;
}

// ---- reading -----------------------------------------------------------------------------------

export interface XmlElement {
  name: string;
  children: XmlElement[];
  /** Concatenated text directly inside this element. */
  text: string;
}

/** Elements nested deeper than this are refused (S3 bodies are 3 levels deep). */
const XML_DEPTH_MAX = 16;

/** Parses a document; anything malformed throws S3Error MalformedXML. Namespaces are stripped. */
export function parseXml(source: string): XmlElement {
  const reader = new XmlReader(source);
  reader.skipProlog();
  const root = reader.element(0);
  reader.skipMisc();
  if (!reader.atEnd()) reader.fail('content after the root element');
  return root;
}

/** The first child named `name`, or null. */
export function childNamed(element: XmlElement, name: string): XmlElement | null {
  return element.children.find((child) => child.name === name) ?? null;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

class XmlReader {
  private position = 0;
  constructor(private readonly source: string) {}

  atEnd(): boolean {
    return this.position >= this.source.length;
  }

  fail(what: string): never {
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${what} at offset ${this.position}.`);
  }

  skipProlog(): void {
    if (this.source.charCodeAt(0) === 0xfeff) this.position = 1;
    this.skipSpace();
    if (this.source.startsWith('<?xml', this.position)) this.skipPast('?>');
    this.skipMisc();
  }

  skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.source.startsWith('<!--', this.position)) this.skipPast('-->');
      else if (this.source.startsWith('<!', this.position) || this.source.startsWith('<?', this.position)) this.fail('DOCTYPE and processing instructions are not accepted');
      else return;
    }
  }

  element(depth: number): XmlElement {
    if (depth >= XML_DEPTH_MAX) this.fail(`elements nested deeper than ${XML_DEPTH_MAX}`);
    if (this.source[this.position] !== '<') this.fail('expected an element');
    this.position++;
    const name = this.name();
    this.attributes();
    const element: XmlElement = { name: localName(name), children: [], text: '' };
    if (this.source.startsWith('/>', this.position)) {
      this.position += 2;
      return element;
    }
    if (this.source[this.position] !== '>') this.fail(`expected '>' after <${name}`);
    this.position++;
    this.content(element, name, depth);
    return element;
  }

  private content(element: XmlElement, name: string, depth: number): void {
    for (;;) {
      if (this.atEnd()) this.fail(`<${name}> is not closed`);
      if (this.source.startsWith('</', this.position)) {
        this.position += 2;
        if (this.name() !== name) this.fail(`</${name}> expected`);
        this.skipSpace();
        if (this.source[this.position] !== '>') this.fail(`expected '>' closing ${name}`);
        this.position++;
        return;
      }
      if (this.source.startsWith('<!--', this.position)) this.skipPast('-->');
      else if (this.source.startsWith('<![CDATA[', this.position)) element.text += this.cdata();
      else if (this.source[this.position] === '<') element.children.push(this.element(depth + 1));
      else element.text += this.text();
    }
  }

  private name(): string {
    const match = /^[A-Za-z_][\w.:-]*/.exec(this.source.slice(this.position, this.position + 256));
    if (!match) this.fail('expected a name');
    this.position += match[0].length;
    return match[0];
  }

  /** Attributes are read and dropped (S3 bodies carry only xmlns ones). */
  private attributes(): void {
    for (;;) {
      this.skipSpace();
      const next = this.source[this.position];
      if (next === '>' || next === '/' || next === undefined) return;
      this.name();
      this.skipSpace();
      if (this.source[this.position] !== '=') this.fail("expected '=' in an attribute");
      this.position++;
      this.skipSpace();
      const quote = this.source[this.position];
      if (quote !== '"' && quote !== "'") this.fail('expected a quoted attribute value');
      const end = this.source.indexOf(quote, this.position + 1);
      if (end < 0) this.fail('unterminated attribute value');
      this.position = end + 1;
    }
  }

  private text(): string {
    const end = this.source.indexOf('<', this.position);
    const raw = this.source.slice(this.position, end < 0 ? this.source.length : end);
    this.position += raw.length;
    return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, entity: string | undefined) => this.entity(whole, entity));
  }

  private entity(whole: string, entity: string | undefined): string {
    if (entity === undefined) this.fail("a bare '&'");
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity in named) return named[entity]!;
    const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : entity.startsWith('#') ? parseInt(entity.slice(1), 10) : NaN;
    if (!Number.isInteger(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail(`unknown entity ${whole}`);
    return String.fromCodePoint(code);
  }

  private cdata(): string {
    const start = this.position + '<![CDATA['.length;
    const end = this.source.indexOf(']]>', start);
    if (end < 0) this.fail('unterminated CDATA');
    this.position = end + 3;
    return this.source.slice(start, end);
  }

  private skipPast(marker: string): void {
    const end = this.source.indexOf(marker, this.position);
    if (end < 0) this.fail(`missing ${marker}`);
    this.position = end + marker.length;
  }

  private skipSpace(): void {
    while (/\s/.test(this.source[this.position] ?? '')) this.position++;
  }
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}
