/**
 * A reader for the small part of EDN (Clojure's data notation) that Jepsen
 * and Porcupine histories use: `nil`, booleans, numbers, strings, keywords,
 * vectors, lists and maps with keyword keys. Anything else is an error, so a
 * surprising file fails loudly instead of being half-understood.
 */

/**
 * A keyword such as `:invoke`, held without its colon.
 *
 * @example
 * ```ts
 * readEdn(':ok'); // EdnKeyword { name: 'ok' }
 * ```
 */
export class EdnKeyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`;
  }
}

/** A value read by {@link readEdn}. Maps have keyword keys, stored without the colon. */
export type EdnValue = null | boolean | number | string | EdnKeyword | readonly EdnValue[] | ReadonlyMap<string, EdnValue>;

const DELIMITERS = new Set([' ', '\t', '\r', '\n', ',', '[', ']', '(', ')', '{', '}', '"']);

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  error(message: string): never {
    throw new SyntaxError(`${message} at column ${this.pos + 1}`);
  }

  skipSpace(): void {
    // Commas are whitespace in EDN.
    while (this.pos < this.text.length && /[\s,]/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  value(): EdnValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) return this.error('unexpected end of input');
    if (c === '"') return this.string();
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.sequence(')');
    if (c === '{') return this.map();
    if (c === ':') {
      this.pos++;
      const name = this.token();
      if (name === '') this.error('empty keyword');
      return new EdnKeyword(name);
    }
    const token = this.token();
    if (token === '') return this.error(`unexpected ${JSON.stringify(c)}`);
    if (token === 'nil') return null;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?N?M?$/.test(token)) return Number(token.replace(/[NM]$/, ''));
    return this.error(`unsupported token ${JSON.stringify(token)}`);
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !DELIMITERS.has(this.text[this.pos] ?? '')) this.pos++;
    return this.text.slice(start, this.pos);
  }

  string(): string {
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) return this.error('unterminated string');
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '"':
        case '\\':
          out += e;
          break;
        default:
          this.error(`unsupported escape \\${e ?? ''}`);
      }
    }
  }

  sequence(close: string): EdnValue[] {
    this.pos++;
    const items: EdnValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) this.error(`missing ${close}`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
    }
  }

  map(): Map<string, EdnValue> {
    this.pos++;
    const out = new Map<string, EdnValue>();
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) this.error('missing }');
      if (this.text[this.pos] === '}') {
        this.pos++;
        return out;
      }
      const key = this.value();
      if (!(key instanceof EdnKeyword)) this.error('map keys must be keywords');
      this.skipSpace();
      if (this.text[this.pos] === '}') this.error(`no value for key ${key.toString()}`);
      out.set(key.name, this.value());
    }
  }
}

/**
 * Reads one EDN value that fills the whole of `text`.
 *
 * @throws SyntaxError with the column of the problem.
 *
 * @example
 * ```ts
 * readEdn('[3 0]'); // [3, 0]
 * readEdn('{:f :get, :key "6"}'); // Map { 'f' => EdnKeyword('get'), 'key' => '6' }
 * ```
 */
export function readEdn(text: string): EdnValue {
  const reader = new Reader(text);
  const value = reader.value();
  reader.skipSpace();
  if (reader.pos < text.length) reader.error('unexpected text after the value');
  return value;
}
