/** Time as a dependency: programs get a Clock so tests never wait for real backoff. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** In [0, 1): jitter source. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** One overall deadline shared by every wait and retry of a program run. */
export class Deadline {
  constructor(
    readonly clock: Clock,
    readonly at: number,
    readonly signal: AbortSignal,
  ) {}
  remaining(): number {
    return Math.max(0, this.at - this.clock.now());
  }
  expired(): boolean {
    return this.signal.aborted || this.remaining() <= 0;
  }
  /** Sleeps at most until the deadline. */
  async sleep(ms: number): Promise<void> {
    await this.clock.sleep(Math.min(ms, this.remaining()), this.signal);
  }
}
