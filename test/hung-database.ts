/**
 * A "hung" PostgreSQL for the workers tests: a TCP server that accepts every connection and never says a word —
 * what a PostgreSQL frozen mid-sale (SIGSTOP, a stuck host) looks like to a client once the kernel has accepted the
 * connection. Provided as `hungDatabaseUrl`; the node tests pause a real embedded PostgreSQL instead
 * (test/node/hung-database.test.ts).
 */
import net from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    hungDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  project.provide("hungDatabaseUrl", `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
