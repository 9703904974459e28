// The post-renderer bundle (dist/post-renderer-main.cjs, run by the loader dist/post-renderer.cjs): wires the
// process to run() through the one process shell (core/shell.ts), with write(2) sinks.
import { readFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { runMain } from '../../../core/shell.js';
import { run, type TextSink } from '../run.js';

/** Helm pipes the whole render: read it in one call (no chunk list + concat: a third less peak memory). */
function stdin(): string | Readable {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return process.stdin; // e.g. EAGAIN on a non-blocking descriptor: fall back to the stream
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * stdout and stderr written with write(2) on the descriptor: the render is written once, at the end, so a stream
 * (process.stdout builds one on first use, a few ms of every run) buys nothing. Partial writes continue;
 * EAGAIN (a non-blocking pipe that is full) waits 1 ms and retries; any other error (EPIPE: Helm went away) is
 * reported through the callback, as a stream would.
 */
function fdSink(fd: number): TextSink {
  return {
    write(text, done) {
      let error: Error | null = null;
      const bytes = Buffer.from(text, 'utf8');
      for (let offset = 0; offset < bytes.length;) {
        try {
          offset += writeSync(fd, bytes, offset);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
          else {
            error = err as Error;
            break;
          }
        }
      }
      if (done) done(error);
      return error === null;
    },
  };
}

void runMain<TextSink>(
  (io) => run({ stdin: stdin(), stdout: io.stdout, stderr: io.stderr, argv: io.argv, env: io.env, cwd: io.cwd }),
  { program: 'helm-tiers post-render', stdout: fdSink(1), stderr: fdSink(2) },
);
