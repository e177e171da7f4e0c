/**
 * A minimal typed event emitter shared by the detectors and the SWIM node.
 *
 * Why not `node:events`: the detectors are pure and must run unchanged in
 * simulations and in any JavaScript runtime, and a typed map of event names to
 * payloads catches misspelt event names at compile time.
 */

/** Something that can be subscribed to, keyed by event name. */
export interface EventSource<Events extends object> {
  /**
   * Subscribes `listener` to events of `type`.
   * @returns a function that unsubscribes; calling it twice is harmless.
   */
  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): () => void;
}

/**
 * Dispatches events synchronously, in subscription order.
 *
 * A listener that throws does not stop the other listeners, nor the protocol
 * step that emitted the event (a half-applied step would corrupt state); its
 * error is rethrown in a microtask so it still surfaces as an uncaught error.
 *
 * @example
 * ```ts
 * const emitter = new Emitter<{ ping: { at: number } }>();
 * const off = emitter.on('ping', (e) => console.log(e.at));
 * emitter.emit('ping', { at: 1 });
 * off();
 * ```
 */
export class Emitter<Events extends object> implements EventSource<Events> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    // Wrap so the same function can be subscribed twice and removed independently.
    const entry = (event: never): void => listener(event);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls every listener of `type` with `event`. */
  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** The number of listeners subscribed to `type`. */
  listenerCount(type: keyof Events): number {
    return this.#listeners.get(type)?.size ?? 0;
  }
}
