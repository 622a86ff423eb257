/**
 * Shopper sessions for the bench, minted here instead of registered: registration costs 100,000 PBKDF2
 * iterations per shopper by design, which would make the bench measure password hashing. A session is the same
 * HS256 JWT the gateway signs (`{sub, name, iat, exp}`), signed with the SESSION_SECRET the bench gives the
 * runtime. The gateway verifies it exactly as it verifies a real one.
 */
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export function mintSession(secret: string, userId: string, username: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ sub: userId, name: username, iat: now, exp: now + ttlSeconds }));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

export interface Shopper {
  id: string;
  username: string;
  token: string;
}

export function makeShoppers(secret: string, count: number, prefix: string): Shopper[] {
  const out: Shopper[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const username = `${prefix}${i}`;
    out.push({ id, username, token: mintSession(secret, id, username) });
  }
  return out;
}

export function writeTokens(file: string, shoppers: Shopper[]): void {
  writeFileSync(file, shoppers.map((s) => s.token).join("\n") + "\n");
}
