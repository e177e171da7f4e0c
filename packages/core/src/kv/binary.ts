import { CorruptionError, InvalidArgumentError } from '../errors/errors.js';

/**
 * Little binary reader/writer shared by the KV codecs (internal, not exported
 * from the package).
 *
 * Integers are unsigned LEB128 varints limited to `Number.MAX_SAFE_INTEGER`,
 * because revisions and sequences are JavaScript numbers. Strings are a varint
 * byte length followed by UTF-8. Decoding is strict: non-minimal varints,
 * invalid UTF-8 and truncated input are rejected, so every accepted byte string
 * has exactly one meaning and re-encodes to itself.
 */

const encoder = new TextEncoder();
// `ignoreBOM` keeps a leading U+FEFF in the string instead of silently eating
// it, which would break the round trip for values that start with one.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone surrogates, i.e. it has an exact UTF-8 encoding. */
export function isWellFormed(s: string): boolean {
  return !loneSurrogate.test(s);
}

/** The UTF-8 length of a well-formed string, without allocating. */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // A surrogate pair is one code point of four UTF-8 bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** True for integers in [0, 2^53). */
export function isUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export class ByteWriter {
  #buf = new Uint8Array(64);
  #len = 0;

  #reserve(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  u8(n: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = n & 0xff;
    return this;
  }

  u32(n: number): this {
    this.#reserve(4);
    this.#buf[this.#len++] = (n >>> 24) & 0xff;
    this.#buf[this.#len++] = (n >>> 16) & 0xff;
    this.#buf[this.#len++] = (n >>> 8) & 0xff;
    this.#buf[this.#len++] = n & 0xff;
    return this;
  }

  /** Writes a non-negative safe integer; `what` names the field in the error. */
  uint(n: number, what: string): this {
    if (!isUint(n)) throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${String(n)}`);
    // Division rather than bit shifts: shifts would truncate to 32 bits.
    while (n >= 0x80) {
      this.u8((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    return this.u8(n);
  }

  bool(b: boolean): this {
    return this.u8(b ? 1 : 0);
  }

  string(s: string, what: string): this {
    if (typeof s !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
    if (!isWellFormed(s)) throw new InvalidArgumentError(`${what} contains a lone surrogate and has no UTF-8 form`);
    const bytes = encoder.encode(s);
    this.uint(bytes.length, what);
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** Writes raw bytes (the caller writes their length first). */
  bytes(bytes: Uint8Array): this {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  get length(): number {
    return this.#len;
  }

  /** A copy of the bytes written so far, trimmed to size. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

export class ByteReader {
  #pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** Names the thing being decoded in error messages. */
    private readonly what: string,
  ) {}

  #fail(message: string): never {
    throw new CorruptionError(`${this.what}: ${message} at byte ${this.#pos}`);
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.bytes.length - this.#pos;
  }

  u8(): number {
    if (this.#pos >= this.bytes.length) this.#fail('unexpected end of input');
    return this.bytes[this.#pos++];
  }

  u32(): number {
    if (this.remaining < 4) this.#fail('unexpected end of input');
    const b = this.bytes;
    const p = this.#pos;
    this.#pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      // 8 groups of 7 bits cover 2^56 > 2^53; a longer varint is garbage.
      if (i === 8) this.#fail('varint too long');
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.#fail('non-minimal varint');
        break;
      }
      scale *= 0x80;
    }
    if (!Number.isSafeInteger(value)) this.#fail('integer exceeds 2^53 - 1');
    return value;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) this.#fail(`invalid boolean ${b}`);
    return b === 1;
  }

  string(): string {
    const len = this.uint();
    if (len > this.remaining) this.#fail(`string of ${len} bytes overruns the input`);
    const slice = this.bytes.subarray(this.#pos, this.#pos + len);
    let s: string;
    try {
      s = decoder.decode(slice);
    } catch (cause) {
      throw new CorruptionError(`${this.what}: invalid UTF-8 at byte ${this.#pos}`, { cause });
    }
    this.#pos += len;
    return s;
  }

  /** The next `length` bytes, as a view of the input. */
  take(length: number): Uint8Array {
    if (length > this.remaining) this.#fail(`${length} bytes overrun the input`);
    const slice = this.bytes.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return slice;
  }

  /** Fails unless every byte has been consumed: trailing bytes mean the input is not what we think it is. */
  end(): void {
    if (this.remaining !== 0) this.#fail(`${this.remaining} trailing bytes`);
  }

  /** Raises a CorruptionError at the current position. */
  fail(message: string): never {
    return this.#fail(message);
  }
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3), used to detect damaged snapshots. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
