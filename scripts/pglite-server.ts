/**
 * The embedded PostgreSQL: PGlite served over the wire by @electric-sql/pglite-socket, for `npm start` and
 * the tests when DATABASE_URL is not set.
 *
 *   node scripts/pglite-server.ts -d <dir | memory://> -p <port> [-h 127.0.0.1] [-m <max connections>]
 *
 * Why not the package's own `pglite-server`: PGlite is one backend session, and pglite-socket's query queue
 * hands that session to whichever connection has the next message, keeping it with one connection only inside
 * an explicit transaction. Two connections speaking the extended protocol (Parse, Bind, Execute … Sync) then
 * interleave in the same session and destroy each other's unnamed statements and portals ("portal "" does not
 * exist"). Here the session also stays with a connection from its first message of a cycle until that cycle
 * ends (Sync, a simple Query, or Terminate), so every cycle runs whole.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    db: { type: "string", short: "d", default: "memory://" },
    port: { type: "string", short: "p", default: "5432" },
    host: { type: "string", short: "h", default: "127.0.0.1" },
    "max-connections": { type: "string", short: "m", default: "32" },
  },
});

/** The parts of pglite-socket's (unexported) query queue that this file replaces or uses. */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

const END_OF_CYCLE = new Set(["S", "Q", "X"].map((c) => c.charCodeAt(0))); // Sync, Query, Terminate

function keepProtocolCyclesWhole(queue: QueryQueue, db: PGlite): void {
  /** The connection in the middle of an extended-protocol cycle, which keeps the session until it ends. */
  let cycleOwner: number | null = null;

  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = cycleOwner ?? (db.isInTransaction() ? this.lastHandlerId : null);
        let item: QueuedMessage | undefined;
        if (owner !== null) {
          const index = this.queue.findIndex((q) => q.handlerId === owner);
          // The owner's next message has not arrived yet: wait for it (its enqueue resumes this loop).
          if (index === -1) break;
          item = this.queue.splice(index, 1)[0];
        } else {
          item = this.queue.shift();
        }
        if (!item) break;
        const current = item;
        let bytes = 0;
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(current.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                current.onData(data);
              },
            }),
          );
        } catch (err) {
          cycleOwner = null;
          current.reject(err);
          continue;
        }
        // A startup or password message has no type byte in the set; a typed message other than the three
        // that end a cycle leaves the cycle open.
        const type = current.message[0];
        const typed = type >= 0x41 && type <= 0x7a && type !== 0x70; // letters, except 'p' (password)
        cycleOwner = typed && !END_OF_CYCLE.has(type) ? current.handlerId : null;
        this.lastHandlerId = current.handlerId;
        current.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };

  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    // A connection that goes away mid-cycle gives the session back.
    if (cycleOwner === handlerId) cycleOwner = null;
    clear(handlerId);
    void queue.processQueue();
  };
}

const db = await PGlite.create(values.db!);
const server = new PGLiteSocketServer({
  db,
  port: Number(values.port),
  host: values.host,
  maxConnections: Number(values["max-connections"]),
});
keepProtocolCyclesWhole((server as unknown as { queryQueue: QueryQueue }).queryQueue, db);
await server.start();
console.log(`embedded PostgreSQL (PGlite) listening on ${values.host}:${values.port}, data ${values.db}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
