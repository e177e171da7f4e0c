import { status } from '@grpc/grpc-js';

/** Why a stream was refused: the gRPC status it ends with and the message it carries. */
export interface Rejection {
  readonly code: status;
  readonly reason: string;
}

export function reject(code: status, reason: string): Rejection {
  return { code, reason };
}

/**
 * A peer-supplied string as it may appear in a status message or a log
 * line: quoted, escaped, and cut at 64 characters so a hostile peer cannot
 * flood logs or forge lines.
 */
export function quote(value: string): string {
  const cut = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return JSON.stringify(cut);
}
