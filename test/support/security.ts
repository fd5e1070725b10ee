import { queryObjects, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Polls `check` every 20 ms until it returns true, failing after `timeoutMs` with `what` and the
 * last value `describe` gives. For state that settles asynchronously (close hooks, counters).
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  describe: () => unknown = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(describe())}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Rejects after `timeoutMs` with `what` unless `promise` settles first. */
export async function within<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let collect: (() => void) | undefined;

/** Heap in use after a full garbage collection (`--expose-gc` switched on at run time). */
export function heapUsedAfterGc(): number {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** Active libuv resources by type (`process.getActiveResourcesInfo()`), e.g. `{TCPSocketWrap: 3}`. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) {
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, () => worker()),
  );
}

/**
 * Live instances of a class on the heap, after a full garbage collection (`v8.queryObjects`): a
 * leaked connection, socket or timer shows up here even when it is `unref()`ed, which
 * `process.getActiveResourcesInfo()` does not list.
 */
export function liveObjects(
  type: abstract new (...args: never[]) => unknown,
): number {
  heapUsedAfterGc();
  return queryObjects(type as never, { format: 'count' });
}

/** The class of Node's timer objects (`Timeout`), which `node:timers` does not export. */
export function timeoutClass(): abstract new (...args: never[]) => unknown {
  const timer = setTimeout(() => undefined, 0);
  clearTimeout(timer);
  return timer.constructor as abstract new (...args: never[]) => unknown;
}
