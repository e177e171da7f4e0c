/**
 * A minimal typed event emitter: listeners are called synchronously in
 * subscription order, and a throwing listener cannot break the emitter or the
 * other listeners (its error is handed to `onListenerError`).
 *
 * @example
 * ```ts
 * const events = new TypedEmitter<{ leader: { leader: string | undefined } }>();
 * const off = events.on('leader', (e) => console.log(e.leader));
 * events.emit('leader', { leader: 'n1' });
 * off();
 * ```
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown, name: keyof Events) => void = () => undefined) {}

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /** Whether anyone listens to `name`: lets hot paths skip building events nobody reads. */
  hasListeners(name: keyof Events): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: Events[K]) => void)(event);
      } catch (error) {
        this.onListenerError(error, name);
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
