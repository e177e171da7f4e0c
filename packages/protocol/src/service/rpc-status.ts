/**
 * A hand-written codec for the two `google.rpc` messages the Synod services
 * put in the `grpc-status-details-bin` trailer: `google.rpc.Status` with one
 * `google.rpc.ErrorInfo` detail. Only these two small messages are needed, so
 * they are encoded here rather than pulling in the googleapis protos; the
 * bytes are the standard ones, so every gRPC language's status-details helper
 * (grpc-go `status.FromError(err).Details()`, Python `grpc_status`) reads them.
 */

/** The type URL of `google.rpc.ErrorInfo` inside a `google.protobuf.Any`. */
export const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';
/** The `domain` of every ErrorInfo a Synod server sends. */
export const ERROR_DOMAIN = 'synod.dev';

/** `google.rpc.ErrorInfo`: why a call failed, as a machine-readable reason plus string metadata. */
export interface ErrorInfo {
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** `google.rpc.Status` with the ErrorInfo details it carried (other detail types are skipped). */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly errorInfo: readonly ErrorInfo[];
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

class Writer {
  readonly #chunks: number[] = [];

  varint(value: number): this {
    let v = value >>> 0 === value ? value : value < 0 ? value + 2 ** 64 : value;
    while (v >= 0x80) {
      this.#chunks.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.#chunks.push(v);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.varint((field << 3) | 2).varint(data.length);
    for (const byte of data) this.#chunks.push(byte);
    return this;
  }

  string(field: number, text: string): this {
    return text === '' ? this : this.bytes(field, utf8.encode(text));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

function encodeErrorInfo(info: ErrorInfo): Uint8Array {
  const writer = new Writer().string(1, info.reason).string(2, info.domain);
  for (const [key, value] of Object.entries(info.metadata)) {
    writer.bytes(3, new Writer().string(1, key).string(2, value).finish());
  }
  return writer.finish();
}

/** Encodes a `google.rpc.Status` whose details are the given ErrorInfo messages. */
export function encodeRpcStatus(status: RpcStatus): Buffer {
  const writer = new Writer();
  if (status.code !== 0) writer.varint(1 << 3).varint(status.code);
  writer.string(2, status.message);
  for (const info of status.errorInfo) {
    writer.bytes(3, new Writer().string(1, ERROR_INFO_TYPE_URL).bytes(2, encodeErrorInfo(info)).finish());
  }
  return Buffer.from(writer.finish());
}

/** Reads the fields of one message: number → values (varints as numbers, length-delimited as bytes). */
function fields(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const out = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new RangeError('truncated varint');
      const byte = bytes[at++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new RangeError('varint too long');
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new RangeError('truncated field');
      value = bytes.subarray(at, at + length);
      at += length;
    } else if (wire === 5) {
      at += 4;
      value = 0;
    } else if (wire === 1) {
      at += 8;
      value = 0;
    } else throw new RangeError(`unsupported wire type ${wire}`);
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const text = (value: number | Uint8Array | undefined): string => (value instanceof Uint8Array ? utf8Decoder.decode(value) : '');

/**
 * Decodes a `google.rpc.Status` (the `grpc-status-details-bin` trailer),
 * keeping its ErrorInfo details. Returns undefined for bytes that are not one.
 */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  try {
    const status = fields(bytes);
    const errorInfo: ErrorInfo[] = [];
    for (const any of status.get(3) ?? []) {
      if (!(any instanceof Uint8Array)) continue;
      const anyFields = fields(any);
      if (text(anyFields.get(1)?.[0]) !== ERROR_INFO_TYPE_URL) continue;
      const info = fields((anyFields.get(2)?.[0] as Uint8Array | undefined) ?? new Uint8Array());
      const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const entry of info.get(3) ?? []) {
        if (!(entry instanceof Uint8Array)) continue;
        const pair = fields(entry);
        metadata[text(pair.get(1)?.[0])] = text(pair.get(2)?.[0]);
      }
      errorInfo.push({ reason: text(info.get(1)?.[0]), domain: text(info.get(2)?.[0]), metadata });
    }
    const code = status.get(1)?.[0];
    return { code: typeof code === 'number' ? code : 0, message: text(status.get(2)?.[0]), errorInfo };
  } catch {
    return undefined;
  }
}
