/**
 * The baseline the bench compares against: the common flash-sale design of today — a minimal Node HTTP server in
 * front of Redis, where one Lua script decrements the stock and records the buyer atomically (decrement and
 * dedupe), and the order goes to a Redis list for something else to persist later.
 *
 * Same contract as the shop's purchase on the parts the bench drives: `POST /api/sales/:id/purchase` with the
 * `minishop_session` cookie (an HS256 JWT, verified here too) → 202 {order} | 409 ALREADY_PURCHASED |
 * 410 SOLD_OUT; `GET /healthz`. `PUT /bench/sales/:id?stock=N` sets a sale up, `GET /bench/sales/:id/orders`
 * lists its orders from the Redis list (`[{id, user_id}]`, so the bench matches every 202 by order id).
 *
 * What it does NOT do, compared with the shop: no per-shopper or per-IP limiter, no admission ceiling, no
 * Idempotency-Key (a retried click gets 409, not its order again), no body validation, no sold-out short-circuit,
 * and no PostgreSQL — the orders stay in a Redis list that nothing drains. Its durability is whatever the Redis
 * server is started with (the bench runs it three ways: no persistence, AOF fsync every second, AOF fsync always).
 *
 * Usage: node bench/redis-lua-server.ts PORT REDIS_HOST REDIS_PORT SESSION_SECRET KEY_PREFIX
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import net from "node:net";

const [port, redisHost, redisPort, secret, prefix] = process.argv.slice(2);

const PURCHASE_SCRIPT = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return -1 end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return 0 end
redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[2] .. ':' .. ARGV[1])
return 1`;

type RespValue = string | number | null | RespValue[] | Error;

/** A minimal pipelined RESP2 client on one connection: replies come back in request order. */
class Redis {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: ((value: RespValue) => void)[] = [];

  constructor(host: string, port: number) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      for (;;) {
        const parsed = this.parse(0);
        if (!parsed) break;
        this.buffer = this.buffer.subarray(parsed.end);
        this.pending.shift()?.(parsed.value);
      }
    });
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
  }

  command(...args: (string | number)[]): Promise<RespValue> {
    let out = `*${args.length}\r\n`;
    for (const a of args) {
      const s = String(a);
      out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    }
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.socket.write(out);
    });
  }

  private parse(at: number): { value: RespValue; end: number } | null {
    const eol = this.buffer.indexOf("\r\n", at);
    if (eol < 0) return null;
    const type = String.fromCharCode(this.buffer[at]);
    const line = this.buffer.toString("utf8", at + 1, eol);
    switch (type) {
      case "+":
        return { value: line, end: eol + 2 };
      case "-":
        return { value: new Error(line), end: eol + 2 };
      case ":":
        return { value: Number(line), end: eol + 2 };
      case "$": {
        const n = Number(line);
        if (n < 0) return { value: null, end: eol + 2 };
        if (this.buffer.length < eol + 2 + n + 2) return null;
        return { value: this.buffer.toString("utf8", eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
      }
      case "*": {
        const n = Number(line);
        const items: RespValue[] = [];
        let end = eol + 2;
        for (let i = 0; i < n; i++) {
          const item = this.parse(end);
          if (!item) return null;
          items.push(item.value);
          end = item.end;
        }
        return { value: items, end };
      }
      default:
        throw new Error(`unexpected RESP type ${type}`);
    }
  }
}

function verifySession(cookie: string | undefined): string | null {
  const m = cookie ? /(?:^|;\s*)minishop_session=([^;]+)/.exec(cookie) : null;
  if (!m) return null;
  const [h, p, s] = m[1].split(".");
  if (!h || !p || !s) return null;
  const expected = createHmac("sha256", secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as { sub?: string; exp?: number };
  if (typeof payload.sub !== "string" || (payload.exp !== undefined && payload.exp <= Date.now() / 1000)) return null;
  return payload.sub;
}

function send(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const redis = new Redis(redisHost, Number(redisPort));
await redis.ready();
const sha = (await redis.command("SCRIPT", "LOAD", PURCHASE_SCRIPT)) as string;
const key = (saleId: string, what: string) => `${prefix}:${saleId}:${what}`;

const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  if (req.method === "GET" && url === "/healthz") return send(res, 200, { status: "ok" });
  const setup = /^\/bench\/sales\/([\w-]+)\?stock=(\d+)$/.exec(url);
  if (req.method === "PUT" && setup) {
    void redis.command("SET", key(setup[1], "stock"), setup[2]).then(() => send(res, 200, { ok: true }));
    return;
  }
  const list = /^\/bench\/sales\/([\w-]+)\/orders$/.exec(url);
  if (req.method === "GET" && list) {
    void redis.command("LRANGE", key(list[1], "orders"), 0, -1).then((items) => {
      const rows = (items as string[]).map((item) => {
        const [id, user_id] = item.split(":");
        return { id, user_id };
      });
      send(res, 200, rows);
    });
    return;
  }
  const drop = /^\/bench\/sales\/([\w-]+)$/.exec(url);
  if (req.method === "DELETE" && drop) {
    void redis
      .command("DEL", key(drop[1], "stock"), key(drop[1], "buyers"), key(drop[1], "orders"))
      .then(() => send(res, 200, { ok: true }));
    return;
  }
  const m = /^\/api\/sales\/([\w-]+)\/purchase$/.exec(url);
  if (req.method !== "POST" || !m) return send(res, 404, { error: { code: "NOT_FOUND", message: "No such route" } });
  let body = "";
  req.on("data", (d: Buffer) => (body += d.toString()));
  req.on("end", () => {
    let userId: string | null;
    try {
      userId = verifySession(req.headers.cookie);
    } catch {
      userId = null;
    }
    if (!userId) return send(res, 401, { error: { code: "UNAUTHENTICATED", message: "Sign in first" } });
    const saleId = m[1];
    const orderId = randomBytes(12).toString("hex");
    void redis
      .command("EVALSHA", sha, 3, key(saleId, "stock"), key(saleId, "buyers"), key(saleId, "orders"), userId, orderId)
      .then((r) => {
        if (r === 1) return send(res, 202, { order: { id: orderId, saleId, userId, quantity: 1, status: "reserved" } });
        if (r === -1)
          return send(res, 409, {
            error: { code: "ALREADY_PURCHASED", message: "You already have an order for this sale" },
          });
        if (r === 0) return send(res, 410, { error: { code: "SOLD_OUT", message: "Sold out" } });
        return send(res, 503, { error: { code: "UNAVAILABLE", message: String(r) } });
      });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\n"));
process.on("SIGTERM", () => {
  server.close();
  process.exit(0);
});
