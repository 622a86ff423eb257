/**
 * The TCP socket postgres.js uses on workerd, as its own polyfill (postgres/cf/polyfills.js) makes it, with one
 * difference: it always has an `error` listener. postgres.js removes every listener from a socket once it has
 * closed, and the polyfill's read loop reports a later read failure ("This socket has been closed") by emitting
 * `error` — which, on an EventEmitter with no listener, throws into a promise nobody awaits: one unhandled
 * rejection per connection whenever a connection is closed from our side (a timeout on a hung PostgreSQL, the end
 * of a request). Here such a late error is dropped; while postgres.js listens, it hears every error as before.
 *
 * Plain TCP only (what Hyperdrive and the local databases speak); `connect` uses it only when the URL asks for no
 * TLS.
 */
import { connect as connectTcp } from "cloudflare:sockets";
// nodejs_compat modules (what postgres.js's own polyfill imports); the Workers types do not declare `node:` modules.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- some tsconfigs declare `node:` modules, the Workers one does not
// @ts-ignore
import { Buffer } from "node:buffer";
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- some tsconfigs declare `node:` modules, the Workers one does not
// @ts-ignore
import { EventEmitter } from "node:events";

interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
}

interface SocketOptions {
  host: string[];
  port: number[];
}

export async function openSocket(options: SocketOptions): Promise<Emitter> {
  const raw = connectTcp({ hostname: options.host[0], port: options.port[0] });
  const tcp = Object.assign(new EventEmitter() as Emitter, {
    readyState: "open" as "open" | "closed",
    destroyed: false,
    write(data: Uint8Array, cb?: () => void): boolean {
      writer.write(data).then(cb, fail);
      return true;
    },
    end(data?: Uint8Array) {
      if (data) tcp.write(data, () => void raw.close().catch(() => {}));
      else void raw.close().catch(() => {});
    },
    destroy() {
      tcp.destroyed = true;
      tcp.end();
    },
  });
  // The listener that is always there (see above).
  tcp.on("error", () => {});
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    tcp.readyState = "closed";
    tcp.emit("close");
  };
  const fail = (err: unknown) => {
    // postgres.js's handler can throw back the error it is given (a closed connection with a query waiting):
    // that query has been rejected by then, so the throw carries nothing more.
    try {
      tcp.emit("error", err);
    } catch {}
    try {
      close();
    } catch {}
  };
  raw.closed.then(close, fail);
  const writer = raw.writable.getWriter();
  const reader = raw.readable.getReader();
  // The streams' own promises reject with the same error when the socket closes under them; they are observed
  // through `read` and `write` above, so these copies are handled here.
  reader.closed.catch(() => {});
  writer.closed.catch(() => {});
  writer.ready.catch(() => {});
  await raw.opened;
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        tcp.emit("data", (Buffer as { from(v: Uint8Array): unknown }).from(value));
      }
    } catch (err) {
      fail(err);
    }
  })();
  return tcp;
}
