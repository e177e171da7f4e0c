/**
 * The watch protocol over NATS, between `SynodNatsClient.watch()` and the
 * node that serves the watch.
 *
 * 1. The client subscribes to a fresh `synod-watch.<cluster>.<id>` and
 *    requests `KV.Watch` (a `WatchRequest`, through the queue group or to one
 *    member) with the headers `subject`, `window` and `heartbeatMs` below.
 * 2. The node answers the request: a failure reply (see `failureReply`), or
 *    an empty success naming itself in `member`. It then publishes on the
 *    watch subject, each message numbered by `seq` (1, 2, …):
 *    `kind: event` with one `WatchResponse`, `kind: heartbeat` every
 *    `heartbeatMs`, and at most one `kind: end` carrying a failure reply's
 *    payload and headers (WATCH_COMPACTED, WATCH_TOO_SLOW, STOPPED, …).
 * 3. Flow control: the node keeps at most `window` messages beyond the last
 *    one the client acknowledged in flight; the rest wait in a buffer bounded
 *    in bytes, past which the watch ends with WATCH_TOO_SLOW (as over gRPC).
 *    The client acknowledges (`kind: ack`, `acked: <seq>`) on the member's
 *    control subject as its consumer takes events, and at least every
 *    `heartbeatMs`, which also tells the node it is still there.
 * 4. Either side gives up on silence longer than three heartbeats: the node
 *    drops the watch, the client resumes elsewhere. A gap in `seq` (messages
 *    lost while the NATS server restarted) makes the client resume too, from
 *    the revision after the last event it delivered, so it loses nothing.
 *    `kind: cancel` on the control subject ends a watch at once.
 */
export const WATCH_HEADERS = {
  /** Request: the subject the events go to. */
  subject: 'synod-watch-subject',
  /** Request: messages the node may have in flight beyond the client's acknowledgement. */
  window: 'synod-watch-window',
  /** Request: the heartbeat period, in ms. */
  heartbeatMs: 'synod-watch-heartbeat-ms',
  /** Open reply: the member serving the watch. */
  member: 'synod-watch-member',
  /** Watch and control messages: `event`, `heartbeat`, `end`; `ack`, `cancel`. */
  kind: 'synod-watch',
  /** Watch messages: 1, 2, … per watch. */
  seq: 'synod-watch-seq',
  /** Control `ack`: the last message the client took. */
  acked: 'synod-watch-acked',
} as const;

export const DEFAULT_WATCH_WINDOW = 256;
export const MAX_WATCH_WINDOW = 65_536;
export const DEFAULT_WATCH_HEARTBEAT_MS = 1_000;
export const MIN_WATCH_HEARTBEAT_MS = 50;
export const MAX_WATCH_HEARTBEAT_MS = 60_000;
/** Silence, in heartbeats, after which either side gives the watch up. */
export const WATCH_SILENCE_HEARTBEATS = 3;
