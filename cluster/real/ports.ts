/**
 * Free loopback TCP ports for the control plane's components. The port is found by binding port 0 and closing the
 * socket again, so another process can in principle take it before the component binds it: callers retry a
 * component whose log says the address is in use (see `isAddressInUse`).
 */
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('listening on port 0 gave no TCP address'));
        return;
      }
      server.close(() => {
        resolve(address.port);
      });
    });
  });
}

/** Distinct free ports (distinct within this call: a port closed a moment ago can be handed out again). */
export async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

/** Two distinct free ports. */
export async function freePortPair(host = LOOPBACK): Promise<[number, number]> {
  const first = await freePort(host);
  let second = await freePort(host);
  while (second === first) second = await freePort(host);
  return [first, second];
}

/** Whether a component's log says it could not bind its port (Go: "bind: address already in use"). */
export function isAddressInUse(log: string): boolean {
  return /address already in use/i.test(log);
}
