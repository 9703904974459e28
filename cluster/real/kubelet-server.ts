/**
 * The kubelet's HTTPS endpoint as far as logs go: `GET /containerLogs/{namespace}/{pod}/{container}`, which the API
 * server proxies `pods/log` to (kubectl logs, Helm 4's hook-output-log-policy). TLS with a serving certificate from
 * the cluster CA (the API server verifies it: --kubelet-certificate-authority) and client certificates required
 * from that CA (the API server presents --kubelet-client-certificate).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';

/** One run of a container: its output as lines with the time each line began. */
export class ContainerLog {
  private readonly lines: { time: Date; text: string }[] = [];
  private partial: { time: Date; text: string } | undefined;
  private finished = false;
  private readonly changes = new EventEmitter();

  constructor(initial = '') {
    if (initial) this.append(initial);
  }

  append(text: string): void {
    if (this.finished || !text) return;
    const now = new Date();
    let rest = text;
    for (;;) {
      const nl = rest.indexOf('\n');
      if (nl < 0) break;
      const piece = rest.slice(0, nl + 1);
      rest = rest.slice(nl + 1);
      if (this.partial) {
        this.lines.push({ time: this.partial.time, text: this.partial.text + piece });
        this.partial = undefined;
      } else this.lines.push({ time: now, text: piece });
    }
    if (rest)
      this.partial = this.partial
        ? { time: this.partial.time, text: this.partial.text + rest }
        : { time: now, text: rest };
    this.changes.emit('change');
  }

  /** The container stopped: no more output; a trailing partial line becomes a line. */
  finish(): void {
    if (this.finished) return;
    if (this.partial) this.lines.push(this.partial);
    this.partial = undefined;
    this.finished = true;
    this.changes.emit('change');
  }

  get done(): boolean {
    return this.finished;
  }

  text(): string {
    return this.lines.map((l) => l.text).join('') + (this.partial?.text ?? '');
  }

  /** Complete lines from index `from` (and the partial one when the log is done). */
  entries(): { time: Date; text: string }[] {
    return this.partial ? [...this.lines, this.partial] : [...this.lines];
  }

  completeLines(): { time: Date; text: string }[] {
    return this.lines;
  }

  onChange(f: () => void): () => void {
    this.changes.on('change', f);
    return () => this.changes.off('change', f);
  }
}

/** What the endpoint asks its owner: the log of a container, or the error a kubelet would answer. */
export type LogLookup = { log: ContainerLog } | { status: number; message: string };

export interface LogQuery {
  follow: boolean;
  previous: boolean;
  tailLines?: number;
  limitBytes?: number;
  timestamps: boolean;
  /** Lines that began before this time are left out (sinceSeconds / sinceTime). */
  since?: Date;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export interface KubeletServerOptions {
  cert: string;
  key: string;
  /** The cluster CA: clients must present a certificate it signed. */
  ca: string;
  lookup(namespace: string, pod: string, container: string, previous: boolean): LogLookup;
  host?: string;
}

/** Go's RFC3339Nano as the kubelet prints it with `timestamps=true`. */
function stamp(d: Date): string {
  return `${d.toISOString().slice(0, -1)}000000Z`;
}

export function parseLogQuery(params: URLSearchParams, now = Date.now()): LogQuery {
  const bool = (k: string) => params.get(k) === 'true' || params.get(k) === '1';
  const num = (k: string) => {
    const v = params.get(k);
    return v === null || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
  };
  const sinceSeconds = num('sinceSeconds');
  const sinceTime = params.get('sinceTime');
  return {
    follow: bool('follow'),
    previous: bool('previous'),
    tailLines: num('tailLines'),
    limitBytes: num('limitBytes'),
    timestamps: bool('timestamps'),
    since:
      sinceSeconds !== undefined ? new Date(now - sinceSeconds * 1000) : sinceTime ? new Date(sinceTime) : undefined,
  };
}

/** Writes the log as the kubelet does: filtered by since, the last tailLines, stamped, cut at limitBytes; follows. */
export function serveLog(log: ContainerLog, q: LogQuery, res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  let budget = q.limitBytes ?? Infinity;
  const format = (l: { time: Date; text: string }) => (q.timestamps ? `${stamp(l.time)} ${l.text}` : l.text);
  /** Writes within the byte budget; false once it is spent (the response is then ended). */
  const write = (text: string): boolean => {
    if (budget <= 0) return false;
    const buf = Buffer.from(text, 'utf8');
    if (buf.length >= budget) {
      res.write(buf.subarray(0, budget));
      budget = 0;
      return false;
    }
    budget -= buf.length;
    res.write(buf);
    return true;
  };
  const keep = (l: { time: Date }) => q.since === undefined || l.time >= q.since;
  if (!q.follow) {
    let lines = log.entries().filter(keep);
    if (q.tailLines !== undefined) lines = q.tailLines <= 0 ? [] : lines.slice(-q.tailLines);
    for (const l of lines) if (!write(format(l))) break;
    res.end();
    return;
  }
  // follow: the complete lines so far, then each new one, until the container stops or the client goes away.
  let initial = log.completeLines().filter(keep);
  if (q.tailLines !== undefined) initial = q.tailLines <= 0 ? [] : initial.slice(-q.tailLines);
  let sent = log.completeLines().length;
  let open = true;
  for (const l of initial)
    if (!write(format(l))) {
      open = false;
      break;
    }
  const flush = () => {
    if (!open) return;
    const all = log.completeLines();
    for (; sent < all.length; sent++) {
      const line = all[sent];
      if (!line || !write(format(line))) {
        open = false;
        break;
      }
    }
    if (!open || log.done) {
      open = false;
      off();
      res.end();
    }
  };
  const off = log.onChange(flush);
  res.on('close', () => {
    open = false;
    off();
  });
  flush();
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  const server: Server = createServer(
    { cert: opts.cert, key: opts.key, ca: opts.ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      if (req.method !== 'GET') {
        res.writeHead(405).end('method not allowed\n');
        return;
      }
      if (url.pathname === '/healthz') {
        res.writeHead(200).end('ok');
        return;
      }
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (!m) {
        res.writeHead(404).end('404 page not found\n');
        return;
      }
      const [ns = '', pod = '', container = ''] = [m[1], m[2], m[3]].map((x) => decodeURIComponent(x ?? ''));
      const q = parseLogQuery(url.searchParams);
      const found = opts.lookup(ns, pod, container, q.previous);
      if ('status' in found) {
        res.writeHead(found.status, { 'Content-Type': 'text/plain' }).end(found.message);
        return;
      }
      serveLog(found.log, q, res);
    },
  );
  const sockets = new Set<{ destroy(): void }>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', () => {
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        // Following log streams would keep the server open: end them.
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
