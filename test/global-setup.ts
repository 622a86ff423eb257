/**
 * One PostgreSQL database per test project and run: a fresh database on DATABASE_URL's server when it is
 * set, else an in-memory embedded one (pglite-server). Migrations are applied; the URL is provided to the
 * tests as `databaseUrl`.
 */
import type { TestProject } from "vitest/node";
import {
  applyMigrations,
  createDatabase,
  dropDatabase,
  freePort,
  startEmbeddedPostgres,
} from "../scripts/lib/postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const base = process.env.DATABASE_URL;
  let url: string;
  let stop: () => Promise<void>;
  if (base) {
    const name = `minishop_test_${project.name.replace(/\W/g, "_")}_${process.pid}`;
    url = await createDatabase(base, name);
    stop = () => dropDatabase(base, name);
  } else {
    const db = await startEmbeddedPostgres({ dataDir: "memory://", port: await freePort(), quiet: true });
    url = db.url;
    stop = db.stop;
  }
  await applyMigrations(url);
  project.provide("databaseUrl", url);
  return stop;
}
