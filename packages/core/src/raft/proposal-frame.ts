import { CorruptionError } from '../errors/errors.js';

/**
 * A proposal on the log is framed as `[version=1][id length u16][id utf8][command]`.
 * The id lets the node that proposed recognise its own entry when it is
 * applied, even if the proposal was forwarded or leadership changed, so the
 * caller's promise resolves with the apply result. An empty entry (the
 * leader's no-op) carries no frame.
 */
const FRAME_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface ProposalFrame {
  readonly proposalId: string;
  readonly command: Uint8Array;
}

export function encodeProposal(proposalId: string, command: Uint8Array): Uint8Array {
  const id = encoder.encode(proposalId);
  if (id.length > 0xffff) throw new RangeError('proposal id too long');
  const out = new Uint8Array(3 + id.length + command.length);
  out[0] = FRAME_VERSION;
  out[1] = id.length >>> 8;
  out[2] = id.length & 0xff;
  out.set(id, 3);
  out.set(command, 3 + id.length);
  return out;
}

/** Decodes a framed proposal; throws `CorruptionError` for anything malformed. */
export function decodeProposal(data: Uint8Array): ProposalFrame {
  if (data.length < 3 || data[0] !== FRAME_VERSION) throw new CorruptionError('unknown proposal frame');
  const idLength = (data[1]! << 8) | data[2]!;
  if (3 + idLength > data.length) throw new CorruptionError('truncated proposal frame');
  let proposalId: string;
  try {
    proposalId = decoder.decode(data.subarray(3, 3 + idLength));
  } catch (cause) {
    throw new CorruptionError('proposal id is not UTF-8', { cause });
  }
  return { proposalId, command: data.subarray(3 + idLength) };
}
