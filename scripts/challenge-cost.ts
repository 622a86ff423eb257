/**
 * `npm run bench:challenge` (tsx: it imports the gateway's own lib/server/pow.ts): what one proof-of-work solve costs a client (docs/design.md "Scalpers made
 * expensive"), at the shipped difficulty (wrangler.toml's CHALLENGE_DIFFICULTY) or `--difficulty=N`. Issues
 * challenges exactly as the gateway does (lib/server/pow.ts `issueChallenge`, development key), solves
 * them with altcha-lib's solver on WebCrypto (what the web app runs in a browser), verifies each as the gateway
 * does, and prints attempts (PBKDF2 derivations), PBKDF2 iterations and milliseconds per solve, and, for scale,
 * the ms of one attempt. Single thread, in this process; no server, no network. `--solves=N` (default 20).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { solveChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/web/pbkdf2";
import {
  CHALLENGE_COST_ITERATIONS,
  checkSolution,
  issueChallenge,
  resetSpentChallenges,
  type ChallengeEnv,
} from "../lib/server/pow.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const shipped = /^CHALLENGE_DIFFICULTY = "(\d+)"/m.exec(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"))?.[1];
const difficulty = Number(arg("difficulty") ?? shipped ?? 10_000);
const solves = Number(arg("solves") ?? 20);
const env = { ENVIRONMENT: "development", CHALLENGE_DIFFICULTY: String(difficulty) } as ChallengeEnv;

const attempts: number[] = [];
const ms: number[] = [];
resetSpentChallenges();
for (let i = 0; i < solves; i++) {
  const challenge = await issueChallenge(env, undefined);
  const started = performance.now();
  const solution = await solveChallenge({ challenge, deriveKey });
  ms.push(performance.now() - started);
  if (!solution) throw new Error("the solver gave up");
  attempts.push(solution.counter + 1);
  const failure = await checkSolution(env, btoa(JSON.stringify({ challenge, solution })));
  if (failure) throw new Error(`the gateway refused a solution: ${failure}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
const perAttemptMs = ms.reduce((a, b) => a + b, 0) / attempts.reduce((a, b) => a + b, 0);
const report = {
  difficulty,
  solves,
  algorithm: `PBKDF2/SHA-256, ${CHALLENGE_COST_ITERATIONS} iterations per attempt`,
  attemptsPerSolve: { mean: Math.round(mean(attempts)), min: Math.min(...attempts), max: Math.max(...attempts) },
  pbkdf2IterationsPerSolve: Math.round(mean(attempts) * CHALLENGE_COST_ITERATIONS),
  msPerSolve: {
    mean: Math.round(mean(ms)),
    median: Math.round(median(ms)),
    min: Math.round(Math.min(...ms)),
    max: Math.round(Math.max(...ms)),
  },
  msPerAttempt: Number(perAttemptMs.toFixed(4)),
  node: process.version,
};
console.log(JSON.stringify(report, null, 2));
