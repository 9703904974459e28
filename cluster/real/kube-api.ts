/**
 * The node agent's narrow Kubernetes client: JSON over HTTPS with the cluster CA and a bearer token, and a watch
 * stream read line by line. Plain node:https keeps every request visible (method, path, content type), which is
 * what a kubelet-like component needs: status subresource patches, deletes with preconditions, watches resumed
 * from a resourceVersion.
 */
import { Agent, request } from 'node:https';

export interface ApiResult {
  status: number;
  /** Parsed JSON body (undefined when the body is not JSON). */
  body: unknown;
  text: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface KubeApi {
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResult>;
  /** Streams watch events of `path` until the server ends the stream or `signal` aborts (then resolves). */
  watch(path: string, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void>;
  close(): void;
}

export function kubeApi(url: string, caPem: string, token: string): KubeApi {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, ca: caPem });
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  const options = (method: string, path: string, extra: Record<string, string> = {}) => ({
    method,
    host: base.hostname,
    port: base.port,
    path,
    agent,
    headers: { ...headers, ...extra },
  });

  return {
    request(method, path, body, contentType = 'application/json') {
      return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          // Explicit length: Node sends a DELETE body unframed otherwise (no chunking for DELETE), and the server
          // reads it as the next request on the kept-alive connection.
          options(
            method,
            path,
            payload === undefined
              ? {}
              : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) },
          ),
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text += d));
            res.on('end', () => {
              let parsed: unknown;
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = undefined;
              }
              resolve({ status: res.statusCode ?? 0, body: parsed, text });
            });
            res.on('error', reject);
          },
        );
        req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    watch(path, onEvent, signal) {
      return new Promise((resolve, reject) => {
        if (signal.aborted) {
          resolve();
          return;
        }
        // A watch is long-lived: its own connection, so that it never holds a keep-alive socket others wait for.
        const req = request({ ...options('GET', path), agent: false, ca: caPem }, (res) => {
          if (res.statusCode !== 200) {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (text += d));
            res.on('end', () => {
              // A 410 on the request itself reads like the in-stream ERROR event: the caller re-lists.
              let object: Record<string, unknown> = { code: res.statusCode, message: text };
              try {
                object = JSON.parse(text) as Record<string, unknown>;
              } catch {
                // keep the text
              }
              onEvent({ type: 'ERROR', object });
              resolve();
            });
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) onEvent(JSON.parse(line) as WatchEvent);
            }
          });
          res.on('end', () => {
            resolve();
          });
          res.on('error', () => {
            resolve();
          });
          res.on('close', () => {
            resolve();
          });
        });
        const abort = () => {
          req.destroy();
          resolve();
        };
        signal.addEventListener('abort', abort, { once: true });
        req.on('error', (err) => {
          if (signal.aborted) resolve();
          else reject(err);
        });
        req.on('close', () => {
          signal.removeEventListener('abort', abort);
        });
        req.end();
      });
    },
    close() {
      agent.destroy();
    },
  };
}
