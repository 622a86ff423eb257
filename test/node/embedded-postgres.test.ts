/**
 * The embedded PostgreSQL under concurrent connections. PGlite is one session; several Workers connect to it
 * at once, each speaking the extended protocol. Every query must come back with its own answer: no
 * "portal does not exist", no answer meant for another connection (scripts/pglite-server.ts).
 */
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startEmbeddedPostgres, type Database } from "../../scripts/lib/postgres.ts";

let db: Database;

beforeAll(async () => {
  db = await startEmbeddedPostgres({ dataDir: "memory://", port: await freePort(), quiet: true });
});

afterAll(async () => {
  await db?.stop();
});

describe("embedded PostgreSQL", () => {
  it("answers interleaved parameterised queries from many connections, each with its own result", async () => {
    const failures: string[] = [];
    let answered = 0;
    // Eight clients of two connections each, 300 parameterised queries per client, all at once.
    await Promise.all(
      Array.from({ length: 8 }, async (_, client) => {
        const sql = postgres(db.url, { max: 2, prepare: false, fetch_types: false, onnotice: () => {} });
        await Promise.all(
          Array.from({ length: 300 }, async (_, i) => {
            try {
              const [row] = await sql<
                { n: number; tag: string }[]
              >`select ${i}::int + ${client}::int as n, ${`c${client}`}::text as tag`;
              if (row.n === i + client && row.tag === `c${client}`) answered++;
              else failures.push(`wrong answer ${JSON.stringify(row)} for ${client}/${i}`);
            } catch (err) {
              failures.push(String(err));
            }
          }),
        );
        await sql.end();
      }),
    );
    expect(failures.slice(0, 3)).toEqual([]);
    expect(answered).toBe(8 * 300);
  }, 30_000);

  it("runs transactions on one connection while the others keep querying", async () => {
    const writer = postgres(db.url, { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
    const readers = postgres(db.url, { max: 4, prepare: false, fetch_types: false, onnotice: () => {} });
    await writer`create table if not exists batches (id int primary key, n int not null)`;
    const failures: string[] = [];
    // As the consumer does: a transaction per batch; meanwhile the other Workers read with parameters.
    const writing = (async () => {
      for (let i = 0; i < 100; i++) {
        await writer
          .begin(async (tx) => {
            await tx`insert into batches (id, n) values (${i}, ${i * 2})`;
            await tx`update batches set n = n + ${1} where id = ${i}`;
          })
          .catch((err: unknown) => failures.push(`writer: ${String(err)}`));
      }
    })();
    const reading = Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        try {
          const [row] = await readers<{ v: number }[]>`select ${i}::int as v`;
          if (row.v !== i) failures.push(`reader got ${row.v} for ${i}`);
        } catch (err) {
          failures.push(`reader: ${String(err)}`);
        }
      }),
    );
    await Promise.all([writing, reading]);
    const [{ n }] = await readers<{ n: number }[]>`select count(*)::int as n from batches where n = id * 2 + 1`;
    await Promise.all([writer.end(), readers.end()]);
    expect(failures.slice(0, 3)).toEqual([]);
    expect(n).toBe(100);
  }, 30_000);
});
