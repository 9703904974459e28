import type { Clock } from '../../hooks/src/k8s/clock.js';

/** A clock whose sleeps return at once and advance time: no real waiting, every wait recorded. */
export function fakeClock(): Clock & { waits: number[] } {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}
