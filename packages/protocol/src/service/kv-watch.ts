import { InvalidArgumentError, type KeyValue, type KvEvent, type KvStateMachine } from '@synod/core';
import * as kvV1 from '../gen/synod/kv/v1/kv.js';
import { keyValueOf, revisionOf } from './client-api.js';
import { ServiceCallError } from './errors.js';
import { wireKv } from './kv-handlers.js';

/**
 * What a transport does with the events of one watch: `send` one change
 * (already in wire form; returning an error ends the watch with it, say
 * when the watcher fell too far behind), or `end` the watch with a typed
 * error (the store cancelled it, the request was bad, the node is
 * stopping). After `end` nothing more is sent.
 */
export interface KvWatchSink {
  send(response: kvV1.WatchResponse, revision: number): Error | undefined;
  end(error: unknown): void;
}

/** One open watch of a node; `stop` unsubscribes it without ending it. */
export interface OpenKvWatch {
  stop(): void;
  /** Stops and ends the watch with `error` (the transport tells its client). */
  fail(error: unknown): void;
  readonly ended: boolean;
}

/**
 * The watches a node serves, so that stopping the node ends every one of
 * them with STOPPED (their clients resume on another member), whatever
 * transport carries them.
 */
export class KvWatchRegistry {
  readonly #open = new Set<OpenKvWatch>();

  get size(): number {
    return this.#open.size;
  }

  /** @internal */
  add(watch: OpenKvWatch): void {
    this.#open.add(watch);
  }

  /** @internal */
  delete(watch: OpenKvWatch): void {
    this.#open.delete(watch);
  }

  /** Ends every open watch with STOPPED. */
  closeAll(): void {
    for (const watch of [...this.#open]) watch.fail(new ServiceCallError('STOPPED', 'the node is shutting down; resume the watch on another member'));
  }
}

/** A KV event as the `WatchResponse` every transport sends. */
export function watchResponseOf(event: KvEvent, header: (revision: number) => kvV1.ResponseHeader): kvV1.WatchResponse {
  const kv: kvV1.KeyValue | undefined =
    event.type === 'put'
      ? wireKv(event.kv)
      : { key: event.key, value: Buffer.alloc(0), createRevision: 0n, modRevision: BigInt(event.revision), version: 0n };
  return {
    header: header(event.revision),
    type: event.type === 'put' ? kvV1.EventType.EVENT_TYPE_PUT : kvV1.EventType.EVENT_TYPE_DELETE,
    kv,
  };
}

/**
 * Opens the `synod.kv.v1.KV/Watch` of `request` on this node's replica:
 * every change of the key (or under the prefix) from `start_revision` (0:
 * from now), in revision order, to `sink`. A start revision that has left
 * the store's history, and a restore that skips past the watcher, end the
 * watch with WATCH_COMPACTED; a malformed request with INVALID_ARGUMENT.
 * The watch is in `registry` until it ends or `stop` is called.
 *
 * @example
 * ```ts
 * const registry = new KvWatchRegistry();
 * const watch = openKvWatch(store, registry, { key: 'a', prefix: false, startRevision: 1n }, kv.header, {
 *   send: (response) => void stream.write(response),
 *   end: (error) => stream.destroy(error as Error),
 * });
 * // … when the client goes away:
 * watch.stop();
 * ```
 */
export function openKvWatch(
  store: KvStateMachine,
  registry: KvWatchRegistry,
  request: kvV1.WatchRequest,
  header: (revision: number) => kvV1.ResponseHeader,
  sink: KvWatchSink,
): OpenKvWatch {
  let unsubscribe: (() => void) | undefined;
  let ended = false;
  const watch: OpenKvWatch = {
    get ended() {
      return ended;
    },
    stop() {
      if (ended) return;
      ended = true;
      unsubscribe?.();
      registry.delete(watch);
    },
    fail(error) {
      if (ended) return;
      watch.stop();
      sink.end(error);
    },
  };
  if (request.startRevision > BigInt(Number.MAX_SAFE_INTEGER)) {
    watch.fail(new InvalidArgumentError('start_revision is too large'));
    return watch;
  }
  const start = request.startRevision === 0n ? undefined : Number(request.startRevision);
  const target = request.prefix ? { prefix: request.key } : { key: request.key };
  registry.add(watch);
  try {
    unsubscribe = store.watch(
      target,
      start,
      (event) => {
        if (ended) return;
        const refusal = sink.send(watchResponseOf(event, header), event.revision);
        if (refusal !== undefined) watch.fail(refusal);
      },
      { onCancel: (error) => watch.fail(error) },
    );
    // The replay inside watch() may have ended it (a sink that gave up).
    if (ended) unsubscribe();
  } catch (error) {
    watch.fail(error);
  }
  return watch;
}

/** One change seen by a client's `watch()`. For deletes `kv` has the key and `modRevision` only. */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly revision: number;
  readonly kv: KeyValue;
}

/** Options of a client's `watch()`. */
export interface WatchOptions {
  /** Watch every key starting with `key`. */
  readonly prefix?: boolean;
  /** First revision to deliver; by default the changes after the current revision. */
  readonly startRevision?: number;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
}

/** A `WatchResponse` as the client's {@link WatchEvent}. */
export function watchEventOf(message: kvV1.WatchResponse): WatchEvent {
  const revision = revisionOf(message.header);
  const kv = keyValueOf(message.kv) ?? { key: '', value: '', createRevision: 0, modRevision: revision, version: 0 };
  return { type: message.type === kvV1.EventType.EVENT_TYPE_DELETE ? 'delete' : 'put', revision, kv };
}
