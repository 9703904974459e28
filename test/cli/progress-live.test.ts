// The live table of `helm-tiers deploy` on a terminal (cli/deploy/live.ts), without a cluster: a realistic event
// sequence (two levels deployed, a hook running then succeeded, a failing tier 2 with its hook's summary, its
// dependents not started) through the writer, with an injected clock and injected timers.
import { describe, expect, it } from 'vitest';
import type { DeployEvent } from '../../cli/deploy/driver.js';
import {
  inPlace,
  isLiveTerminal,
  liveFrame,
  liveWriter,
  reduceLive,
  initialLive,
  terminalRows,
  type Timers,
} from '../../cli/deploy/live.js';

const ESC = '\x1b';
const REDRAW = new RegExp(`^${ESC}\\[(\\d+)F${ESC}\\[J`);

/** Timers whose ticks the test fires; records unref and clear. */
function fakeTimers() {
  const t = {
    fn: undefined as (() => void) | undefined,
    ms: 0,
    unrefs: 0,
    cleared: [] as unknown[],
    handle: undefined as unknown,
    timers: undefined as unknown as Timers,
    tick() {
      t.fn?.();
    },
  };
  t.timers = {
    setInterval: (fn, ms) => {
      t.fn = fn;
      t.ms = ms;
      t.handle = {
        unref: () => {
          t.unrefs++;
        },
      };
      return t.handle;
    },
    clearInterval: (h) => {
      t.cleared.push(h);
      if (h === t.handle) t.fn = undefined;
    },
  };
  return t;
}

/** The cell of `release`'s row under column `col`, by the header's column offsets. */
function cell(frame: string, release: string, col: string): string {
  const lines = frame.split('\n');
  const head = lines.find((l) => l.startsWith('RELEASE'))!;
  const cols = ['RELEASE', 'TIER', 'ACTION', 'ELAPSED', 'HOOK', 'RESULT'];
  const i = cols.indexOf(col);
  const from = head.indexOf(col);
  const to = i + 1 < cols.length ? head.indexOf(cols[i + 1]!) : undefined;
  const row = lines.find((l) => l.startsWith(`  ${release} `));
  if (!row) throw new Error(`no row for ${release} in\n${frame}`);
  return row.slice(from, to).trim();
}

const hookJob = 'tier1-database-pre-install-dependency-check';
const podCheck = 'tier2-cache-post-install-pod-check';
const logCommand = `kubectl logs -n apps job/${podCheck}`;
const reason =
  'helm install succeeded, but the release is not Ready: pod/cache-7d9f: CrashLoopBackOff (container cache)';

/** [time in ms, event]: what the driver emits for plan.yaml's four tiers with a crash-looping cache. */
const script: [number, DeployEvent][] = [
  [
    0,
    {
      type: 'plan',
      plan: 'platform',
      revision: '0123456789abcdef',
      levels: [['tier1-database', 'monitoring'], ['tier2-cache'], ['tier3-api'], ['tier4-frontend']],
      dryRun: false,
    },
  ],
  [0, { type: 'level', level: 0, releases: ['tier1-database', 'monitoring'] }],
  [10, { type: 'start', release: 'tier1-database', tier: 1, level: 0, action: 'install', dependencies: [] }],
  [20, { type: 'unchanged', release: 'monitoring', tier: 0, level: 0, helmRevision: 3 }],
  [500, { type: 'hook', release: 'tier1-database', tier: 1, level: 0, job: hookJob, phase: 'running' }],
  [3100, { type: 'hook', release: 'tier1-database', tier: 1, level: 0, job: hookJob, phase: 'succeeded' }],
  [
    4310,
    { type: 'deployed', release: 'tier1-database', tier: 1, level: 0, action: 'install', ms: 4300, helmRevision: 1 },
  ],
  [4320, { type: 'level', level: 1, releases: ['tier2-cache'] }],
  [
    4330,
    { type: 'start', release: 'tier2-cache', tier: 2, level: 1, action: 'install', dependencies: ['tier1-database'] },
  ],
  [6000, { type: 'hook', release: 'tier2-cache', tier: 2, level: 1, job: podCheck, phase: 'running' }],
  [9000, { type: 'hook', release: 'tier2-cache', tier: 2, level: 1, job: podCheck, phase: 'failed' }],
  [
    11_530,
    {
      type: 'failed',
      release: 'tier2-cache',
      tier: 2,
      level: 1,
      action: 'install',
      ms: 7200,
      reason,
      hooks: [{ job: podCheck, summary: 'pod-check: 1 of 1 pods not healthy (CrashLoopBackOff)', logCommand }],
    },
  ],
  [
    11_540,
    {
      type: 'not-started',
      release: 'tier3-api',
      tier: 3,
      level: 2,
      reason: 'dependency tier2-cache failed',
      blockedBy: 'tier2-cache',
    },
  ],
  [
    11_550,
    {
      type: 'not-started',
      release: 'tier4-frontend',
      tier: 4,
      level: 3,
      reason: 'dependency tier3-api was not started',
      blockedBy: 'tier3-api',
    },
  ],
  [
    11_560,
    {
      type: 'summary',
      ok: false,
      deployed: ['tier1-database'],
      unchanged: ['monitoring'],
      failed: ['tier2-cache'],
      notStarted: ['tier3-api', 'tier4-frontend'],
      ms: 11_560,
    },
  ],
];

/** Runs the script through a writer; `ticks` are times at which the ticker fires. */
function play(ticks: number[] = [], columns?: number) {
  let t = 0;
  const writes: { at: number; text: string; after: DeployEvent['type'] | 'tick' }[] = [];
  let after: DeployEvent['type'] | 'tick' = 'plan';
  const timers = fakeTimers();
  const w = liveWriter({
    write: (text) => writes.push({ at: t, text, after }),
    now: () => t,
    columns: () => columns,
    timers: timers.timers,
  });
  const pending = [...ticks];
  for (const [at, e] of script) {
    while (pending.length && pending[0]! <= at) {
      t = pending.shift()!;
      after = 'tick';
      timers.tick();
    }
    t = at;
    after = e.type;
    w.emit(e);
  }
  return { writes, timers, writer: w };
}

/** A write's frame without its redraw prefix. */
const body = (text: string) => text.replace(REDRAW, '');

describe('live deploy table', () => {
  it('shows the running hook, moves ELAPSED with the clock, and ends with the failure details and the summary', () => {
    const { writes, timers } = play([2510, 3600, 4100]);
    const frameAt = (at: number, after: string) => {
      const w = writes.find((x) => x.at === at && x.after === after);
      if (!w) throw new Error(`no frame at ${at} after ${after}`);
      return body(w.text);
    };
    // Every release of the run is in the table from the first frame, grouped by level, with its tier.
    const first = body(writes[0]!.text);
    expect(first).toMatch(/^plan platform at revision 0123456789abcdef\n/);
    expect(first.split('\n').filter((l) => /^level \d$/.test(l))).toEqual(['level 1', 'level 2', 'level 3', 'level 4']);
    expect(cell(first, 'tier4-frontend', 'TIER')).toBe('-');
    expect(cell(first, 'tier4-frontend', 'RESULT')).toBe('waiting');

    const hookRunning = frameAt(500, 'hook');
    expect(cell(hookRunning, 'tier1-database', 'HOOK')).toBe(`job/${hookJob}`);
    expect(cell(hookRunning, 'tier1-database', 'ACTION')).toBe('install');
    expect(cell(hookRunning, 'tier1-database', 'ELAPSED')).toBe('0s');
    expect(cell(hookRunning, 'tier1-database', 'RESULT')).toBe('running');
    expect(cell(hookRunning, 'monitoring', 'RESULT')).toMatch(/^unchanged: Helm revision 3/);
    // The ticker redraws with the clock: 2.5 s after the start.
    const ticked = frameAt(2510, 'tick');
    expect(cell(ticked, 'tier1-database', 'ELAPSED')).toBe('2s');
    expect(cell(ticked, 'tier1-database', 'HOOK')).toBe(`job/${hookJob}`);
    // The hook is done: the column clears; once deployed, ELAPSED is the driver's duration.
    expect(cell(frameAt(3100, 'hook'), 'tier1-database', 'HOOK')).toBe('-');
    // A tick that would draw the same table writes nothing (3.1 s and 3.6 s both show 3s); the next one does.
    expect(writes.filter((w) => w.at === 3600)).toEqual([]);
    expect(cell(frameAt(4100, 'tick'), 'tier1-database', 'ELAPSED')).toBe('4s');
    const deployed = frameAt(4310, 'deployed');
    expect(cell(deployed, 'tier1-database', 'ELAPSED')).toBe('4.3s');
    expect(cell(deployed, 'tier1-database', 'RESULT')).toBe('deployed (Helm revision 1)');
    expect(cell(frameAt(6000, 'hook'), 'tier2-cache', 'HOOK')).toBe(`job/${podCheck}`);

    // The last frame (the summary changes nothing in it: not drawn again) and the lines after it.
    expect(writes.filter((w) => w.after === 'summary').length).toBe(1);
    const last = body(writes.at(-2)!.text);
    expect(cell(last, 'tier2-cache', 'ELAPSED')).toBe('7.2s');
    expect(cell(last, 'tier2-cache', 'HOOK')).toBe(`job/${podCheck} failed`);
    expect(cell(last, 'tier2-cache', 'RESULT')).toBe('FAILED (details below)');
    expect(cell(last, 'tier3-api', 'TIER')).toBe('3');
    expect(cell(last, 'tier3-api', 'RESULT')).toBe('not started: dependency tier2-cache failed');
    expect(cell(last, 'tier4-frontend', 'RESULT')).toBe('not started: dependency tier3-api was not started');
    // Plain lines (no redraw: they stay in the scrollback).
    const epilogue = writes.at(-1)!.text;
    expect(epilogue).not.toContain(ESC);
    expect(epilogue).toContain('✗ tier2-cache');
    expect(epilogue).toContain(reason);
    expect(epilogue).toContain(`hook job/${podCheck}: pod-check: 1 of 1 pods not healthy (CrashLoopBackOff)`);
    expect(epilogue).toContain(`read its log: ${logCommand}`);
    expect(epilogue.trimEnd().split('\n').at(-1)).toBe(
      'FAILED: 1 deployed, 1 unchanged, 1 failed (tier2-cache), 2 not started (tier3-api, tier4-frontend) in 11.6s',
    );
    // The ticker: 1 s, unref'd, stopped at the summary (and a tick after it draws nothing).
    expect([timers.ms, timers.unrefs, timers.cleared]).toEqual([1000, 1, [timers.handle]]);
    const n = writes.length;
    timers.tick();
    expect(writes.length).toBe(n);
  });

  it('each redraw moves up exactly the rows of the previous frame, wrapped lines counted', () => {
    for (const columns of [undefined, 40]) {
      const { writes } = play([2510, 3600], columns);
      expect(writes[0]!.text).not.toContain(ESC);
      const frames = writes.filter((w) => w.after !== 'summary' || REDRAW.test(w.text));
      for (let i = 1; i < frames.length; i++) {
        const up = Number(REDRAW.exec(frames[i]!.text)?.[1]);
        const prev = body(frames[i - 1]!.text)
          .replace(/\n$/, '')
          .split('\n');
        const rows =
          columns === undefined
            ? prev.length
            : prev.reduce((s, l) => s + Math.max(1, Math.ceil(l.length / columns)), 0);
        expect(up, `frame ${i}`).toBe(rows);
        if (columns !== undefined) expect(up).toBeGreaterThan(prev.length);
      }
    }
    expect(terminalRows(['x'.repeat(80), '', 'y'.repeat(81)], 80)).toBe(4);
  });

  it('the ticker draws only while a release runs; stop() before the summary clears it', () => {
    const timers = fakeTimers();
    const writes: string[] = [];
    const w = liveWriter({ write: (t) => writes.push(t), now: () => 0, timers: timers.timers });
    w.emit(script[0]![1]);
    timers.tick();
    expect(writes.length).toBe(1);
    w.stop();
    w.stop();
    expect(timers.cleared).toEqual([timers.handle]);
    expect(timers.fn).toBeUndefined();
  });

  it('a dry run and a second start (its reason shown) render as such', () => {
    let s = reduceLive(initialLive(), script[0]![1], 0);
    s = reduceLive(
      s,
      { type: 'would', release: 'tier1-database', tier: 1, level: 0, action: 'upgrade', why: 'values changed' },
      0,
    );
    s = reduceLive(
      s,
      {
        type: 'start',
        release: 'tier2-cache',
        tier: 2,
        level: 1,
        action: 'upgrade',
        dependencies: [],
        why: 'second render once its CRDs are served',
      },
      1000,
    );
    const f = liveFrame(s, 66_000).join('\n');
    expect(cell(f, 'tier1-database', 'RESULT')).toBe('would upgrade: values changed');
    expect(cell(f, 'tier2-cache', 'RESULT')).toBe('running: second render once its CRDs are served');
    expect(cell(f, 'tier2-cache', 'ELAPSED')).toBe('1m05s');
  });

  it('inPlace redraws over the previous frame; appended lines are never redrawn', () => {
    let out = '';
    const screen = inPlace((t) => (out += t));
    screen.draw(['a', 'b', 'c']);
    screen.draw(['d']);
    screen.draw(['d']);
    screen.append(['done']);
    screen.draw(['e']);
    expect(out).toBe(`a\nb\nc\n${ESC}[3F${ESC}[Jd\ndone\ne\n`);
  });

  it('live only on a TTY, with a TERM that is not dumb, outside CI', () => {
    const tty = { isTTY: true };
    expect(isLiveTerminal(tty, { TERM: 'xterm-256color' })).toBe(true);
    expect(isLiveTerminal(tty, {})).toBe(true);
    expect(isLiveTerminal({}, { TERM: 'xterm' })).toBe(false);
    expect(isLiveTerminal({ isTTY: false }, {})).toBe(false);
    expect(isLiveTerminal(tty, { TERM: 'dumb' })).toBe(false);
    expect(isLiveTerminal(tty, { CI: 'true' })).toBe(false);
  });
});
