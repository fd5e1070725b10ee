/** A map from event name to the arguments of its listeners (an interface fits). */
export type EventMap<Events> = Record<keyof Events, unknown[]>;

/** A listener of `E` in `Events`. @publicApi */
export type Listener<
  Events extends EventMap<Events>,
  E extends keyof Events,
> = (...args: Events[E]) => void;

/**
 * The smallest typed emitter that works in browsers and Node alike (no `EventTarget` subclassing,
 * no `node:events`). A listener that throws does not stop the others: its error is handed to
 * `onListenerError`.
 *
 * @publicApi
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  private readonly listeners = new Map<keyof Events, Set<unknown>>();

  constructor(
    private readonly onListenerError: (error: unknown) => void = () =>
      undefined,
  ) {}

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof Events>(
    event: E,
    listener: Listener<Events, E>,
  ): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once. */
  once<E extends keyof Events>(
    event: E,
    listener: Listener<Events, E>,
  ): () => void {
    const off = this.on(event, (...args: Events[E]) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events, E>): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Number of listeners of `event`. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.listeners.get(event);
    if (!set) {
      return;
    }
    // A snapshot: listeners added during the dispatch wait for the next one.
    for (const listener of Array.from(set)) {
      try {
        (listener as Listener<Events, E>)(...args);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
