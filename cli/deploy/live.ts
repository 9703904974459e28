/**
 * `helm-tiers deploy` on a terminal: a live table per level (RELEASE TIER ACTION ELAPSED HOOK RESULT), redrawn in
 * place on every event and once a second while something runs, so elapsed time moves. Elsewhere (a pipe, a log,
 * CI, TERM=dumb) deploy prints one line per event (progress.ts): a redrawn table is unreadable in a log file.
 *
 * Pure part: `reduceLive` folds DeployEvents into a LiveState, `liveFrame` renders it at a given time,
 * `liveEpilogue` gives the lines printed once after the summary (failure details, the hook's summary line, the
 * command to read its log, the summary). Thin part: `liveWriter` owns the redraw (ANSI, no dependency) and the
 * ticker (injectable timers; unref'd so it never keeps the process alive; stopped at the summary).
 */
import type { Action, DeployEvent } from './driver.js';
import { textLines } from './progress.js';
import { alignedTable } from '../table.js';

type Event<T extends DeployEvent['type']> = Extract<DeployEvent, { type: T }>;

export type LiveResult = 'waiting' | 'running' | 'deployed' | 'unchanged' | 'failed' | 'not-started' | 'would';

export interface LiveRow {
  readonly release: string;
  /** Position of the release's level among the levels of this run (the plan event's order). */
  readonly group: number;
  readonly tier?: number;
  /** The plan level (0-based), once known. */
  readonly level?: number;
  readonly action?: Action | 'none';
  /** When the Helm action started (the clock of the writer). */
  readonly startedAt?: number;
  /** The action's duration, once it ended (the driver's measure). */
  readonly ms?: number;
  /** Hook Jobs running now, oldest first. */
  readonly hooks: readonly string[];
  /** The last hook Job that failed. */
  readonly hookFailed?: string;
  readonly result: LiveResult;
  /** Why this action, the Helm revision, or why not started. */
  readonly note?: string;
}

export interface LiveState {
  readonly plan?: Event<'plan'>;
  readonly crds: readonly Event<'crds'>[];
  readonly rows: readonly LiveRow[];
  /** Failed releases, in the order they failed (their events carry the reason and the hooks). */
  readonly failures: readonly Event<'failed'>[];
  readonly summary?: Event<'summary'>;
}

/** What the plan says about a release before any of its events (tier, level): the table is complete from the start. */
export type PlanLayout = ReadonlyMap<string, { readonly tier?: number; readonly level?: number }>;

export function initialLive(): LiveState {
  return { crds: [], rows: [], failures: [] };
}

/** `12s` while it runs, `12.3s` once it ended; `2m05s` past a minute. */
export function elapsed(ms: number, running: boolean): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return running ? `${Math.floor(s)}s` : `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
}

/** The state after one event (`at`: the writer's clock when it arrived). Never mutates `s`. */
export function reduceLive(s: LiveState, e: DeployEvent, at: number, layout?: PlanLayout): LiveState {
  if (e.type === 'plan') {
    const rows = e.levels.flatMap((l, group) =>
      l.map((release): LiveRow => ({ release, group, ...layout?.get(release), hooks: [], result: 'waiting' })),
    );
    return { ...s, plan: e, rows };
  }
  if (e.type === 'crds') return { ...s, crds: [...s.crds, e] };
  if (e.type === 'level') return s;
  if (e.type === 'summary') {
    // Nothing runs any more: a hook still shown as running was never reported done.
    return { ...s, summary: e, rows: s.rows.map((r) => (r.hooks.length ? { ...r, hooks: [] } : r)) };
  }
  const update = (f: (r: LiveRow) => LiveRow): LiveState => {
    const i = s.rows.findIndex((r) => r.release === e.release);
    // A release the plan event did not list (not expected): its own group after the others.
    const old: LiveRow = s.rows[i] ?? {
      release: e.release,
      group: Math.max(-1, ...s.rows.map((r) => r.group)) + 1,
      hooks: [],
      result: 'waiting',
    };
    const row = f({ ...old, tier: e.tier, level: e.level });
    const rows = i >= 0 ? s.rows.map((r, j) => (j === i ? row : r)) : [...s.rows, row];
    return { ...s, rows };
  };
  switch (e.type) {
    case 'start':
      return update((r) => ({
        ...r,
        action: e.action,
        startedAt: at,
        ms: undefined,
        hooks: [],
        hookFailed: undefined,
        result: 'running',
        note: e.why,
      }));
    case 'hook':
      return update((r) => {
        const hooks = r.hooks.filter((j) => j !== e.job);
        if (e.phase === 'running') return { ...r, hooks: [...hooks, e.job] };
        return { ...r, hooks, hookFailed: e.phase === 'failed' ? e.job : r.hookFailed };
      });
    case 'unchanged':
      return update((r) => ({
        ...r,
        action: 'none',
        result: 'unchanged',
        note: `Helm revision ${e.helmRevision}, Ready: no action`,
      }));
    case 'would':
      return update((r) => ({ ...r, action: e.action, result: 'would', note: e.why }));
    case 'deployed':
      return update((r) => ({
        ...r,
        action: e.action,
        ms: e.ms,
        hooks: [],
        result: 'deployed',
        note: e.helmRevision !== undefined ? `Helm revision ${e.helmRevision}` : undefined,
      }));
    case 'failed': {
      const next = update((r) => ({
        ...r,
        action: e.action,
        ms: e.ms,
        hooks: [],
        hookFailed: e.hooks[0]?.job ?? r.hookFailed,
        result: 'failed',
        note: undefined,
      }));
      return { ...next, failures: [...next.failures, e] };
    }
    case 'not-started':
      return update((r) => ({ ...r, result: 'not-started', note: e.reason }));
  }
}

function resultText(r: LiveRow): string {
  const with_ = (word: string) => (r.note ? `${word}: ${r.note}` : word);
  switch (r.result) {
    case 'waiting':
      return 'waiting';
    case 'running':
      return with_('running');
    case 'deployed':
      return r.note ? `deployed (${r.note})` : 'deployed';
    case 'unchanged':
      return with_('unchanged');
    case 'failed':
      return 'FAILED (details below)';
    case 'not-started':
      return with_('not started');
    case 'would':
      return with_(r.action === 'none' || r.action === undefined ? 'would do nothing' : `would ${r.action}`);
  }
}

function hookText(r: LiveRow): string {
  const last = r.hooks[r.hooks.length - 1];
  if (last !== undefined) return `job/${last}${r.hooks.length > 1 ? ` (+${r.hooks.length - 1})` : ''}`;
  if (r.hookFailed !== undefined) return `job/${r.hookFailed} failed`;
  return '-';
}

const HEAD = ['RELEASE', 'TIER', 'ACTION', 'ELAPSED', 'HOOK', 'RESULT'];

/** The table at time `now`: the plan line, the CRD tier, then one block per level. */
export function liveFrame(s: LiveState, now: number): string[] {
  const lines: string[] = [];
  if (s.plan) lines.push(...textLines(s.plan).slice(0, 1));
  for (const c of s.crds) lines.push(...textLines(c).slice(0, 1));
  const groups = [...new Set(s.rows.map((r) => r.group))].sort((a, b) => a - b);
  const table: string[][] = [];
  for (const g of groups) {
    const rows = s.rows.filter((r) => r.group === g);
    const level = rows.find((r) => r.level !== undefined)?.level ?? g;
    table.push([`level ${level + 1}`]);
    for (const r of rows) {
      const since = r.result === 'running' ? r.startedAt : undefined;
      table.push([
        `  ${r.release}`,
        r.tier === undefined ? '-' : String(r.tier),
        r.action === undefined || r.action === 'none' ? '-' : r.action,
        r.ms !== undefined ? elapsed(r.ms, false) : since !== undefined ? elapsed(now - since, true) : '-',
        hookText(r),
        resultText(r),
      ]);
    }
  }
  lines.push(...alignedTable(HEAD, table));
  return lines;
}

/** Printed once after the last frame, as plain lines (they stay in the scrollback): what failed and why, the summary. */
export function liveEpilogue(s: LiveState): string[] {
  const details = [
    ...s.crds.filter((c) => !c.ok).flatMap((c) => textLines(c)),
    ...s.failures.flatMap((f) => textLines(f)),
  ];
  return [...(details.length ? ['', ...details] : []), ...(s.summary ? ['', ...textLines(s.summary)] : [])];
}

/** Terminal rows that `lines` take at `columns` wide (a long line wraps; unknown width: one row per line). */
export function terminalRows(lines: readonly string[], columns?: number): number {
  const w = columns !== undefined && columns > 0 ? columns : Infinity;
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(Array.from(l).length / w)), 0);
}

/**
 * Back to the start of a frame that took `rows` terminal rows, and clear from there to the end of the screen:
 * CSI n F (cursor to the start of the line n rows up) and CSI J. Nothing for the first frame (`\x1b[0F` would
 * still move one row up).
 */
export function redrawPrefix(rows: number): string {
  return rows > 0 ? `\x1b[${rows}F\x1b[J` : '';
}

/** A text stream and environment on which redrawing in place works: a TTY, a TERM that is not dumb, not CI. */
export function isLiveTerminal(stream: unknown, env: NodeJS.ProcessEnv): boolean {
  return (
    (stream as { isTTY?: boolean } | undefined)?.isTTY === true &&
    env.TERM !== 'dumb' &&
    (env.CI === undefined || env.CI === '')
  );
}

/**
 * Rewrites a frame in place: each `draw` goes back over the previous frame (its wrapped rows counted); a frame
 * equal to the one on screen is not written again (no flicker).
 */
export function inPlace(write: (text: string) => unknown, columns: () => number | undefined = () => undefined) {
  let rows = 0;
  let shown: string | undefined;
  return {
    draw(lines: readonly string[]): void {
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      if (text === shown) return;
      write(redrawPrefix(rows) + text);
      rows = terminalRows(lines, columns());
      shown = text;
    },
    /** Lines printed below the frame and never redrawn. */
    append(lines: readonly string[]): void {
      if (lines.length) write(`${lines.join('\n')}\n`);
      rows = 0;
      shown = undefined;
    },
  };
}

export interface Timers {
  readonly setInterval: (fn: () => void, ms: number) => unknown;
  readonly clearInterval: (handle: unknown) => void;
}

const nodeTimers: Timers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => {
    clearInterval(h as ReturnType<typeof setInterval>);
  },
};

export interface LiveWriterOptions {
  readonly write: (text: string) => unknown;
  /** Milliseconds (Date.now by default). */
  readonly now?: () => number;
  /** The terminal's width now (long lines wrap; the redraw counts the rows). */
  readonly columns?: () => number | undefined;
  readonly timers?: Timers;
  /** Redraw period while a release runs (default 1000). */
  readonly tickMs?: number;
  readonly layout?: PlanLayout;
}

export interface LiveWriter {
  readonly emit: (e: DeployEvent) => void;
  /** Stops the ticker (done at the summary; call it too when the deploy throws). Idempotent. */
  readonly stop: () => void;
}

export function liveWriter(o: LiveWriterOptions): LiveWriter {
  const now = o.now ?? Date.now;
  const timers = o.timers ?? nodeTimers;
  const screen = inPlace(o.write, o.columns);
  let state = initialLive();
  let ticker: unknown;
  let done = false;
  const stop = () => {
    if (ticker !== undefined) timers.clearInterval(ticker);
    ticker = undefined;
  };
  const draw = () => {
    screen.draw(liveFrame(state, now()));
  };
  return {
    stop,
    emit(e) {
      if (done) return;
      state = reduceLive(state, e, now(), o.layout);
      if (e.type === 'summary') {
        stop();
        done = true;
        draw();
        screen.append(liveEpilogue(state));
        return;
      }
      draw();
      if (ticker === undefined) {
        ticker = timers.setInterval(() => {
          // Only elapsed time moves between events: nothing to redraw when nothing runs.
          if (state.rows.some((r) => r.result === 'running')) draw();
        }, o.tickMs ?? 1000);
        // The ticker must never be what keeps the process alive (a deploy that threw, a forgotten stop).
        (ticker as { unref?: () => void } | undefined)?.unref?.();
      }
    },
  };
}
