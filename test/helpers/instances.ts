// Two instances of the service on one fresh PostgreSQL database, and raw requests to them.
import { createPgDatabase } from "./databases.js";
import { startTestServer, type TestServer } from "./server.js";

export interface Pair {
  url: string;
  a: TestServer;
  b: TestServer;
  close(): Promise<void>;
}

/** Two instances on one fresh PostgreSQL database. */
export async function startPair(env: Record<string, string> = {}): Promise<Pair> {
  const db = await createPgDatabase();
  const a = await startTestServer({ dialect: "postgres", databaseUrl: db.url, env });
  const b = await startTestServer({ dialect: "postgres", databaseUrl: db.url, env });
  return {
    url: db.url,
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
      await db.drop();
    },
  };
}

/** One raw request; `within` bounds how long it may take (an abort fails the test). */
export async function call(s: TestServer, path: string, token: string, o: { body?: unknown; within?: number } = {}) {
  const res = await fetch(s.url + path, {
    method: o.body === undefined ? "GET" : "POST",
    headers: { authorization: token, ...(o.body === undefined ? {} : { "content-type": "application/json" }) },
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    signal: AbortSignal.timeout(o.within ?? 30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
export const self = (s: TestServer, token: string, within?: number) => call(s, "/dev-users.self", token, { within });
export const metric = async (s: TestServer, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
