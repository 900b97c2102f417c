// GET /console/: the web console, static files Vite built into dist/console (console/). A few
// lines instead of @fastify/static: the console is a handful of files known when the first
// request comes, read once into memory and served by exact name, so no path from a request ever
// reaches the file system, and nothing is loaded at start-up (the start-up time is measured).
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/** Strict: scripts and styles only from the console's own files, never inline; no framing. */
export const CONSOLE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

interface Asset {
  body: Buffer;
  type: string;
}

/**
 * Where the build put the console: beside the package's bundle (dist/devusers-*.cjs), or, for
 * the compiled sources the tests run (build/src/routes), in the project's dist/.
 */
const CANDIDATES = ["./console/", "../../../dist/console/"];

async function loadAssets(): Promise<Map<string, Asset> | undefined> {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    let names: string[];
    try {
      names = (await readdir(dir, { recursive: true })) as string[];
    } catch {
      continue;
    }
    const assets = new Map<string, Asset>();
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      assets.set(name.split("\\").join("/"), { body: await readFile(join(dir, name)), type });
    }
    if (assets.has("index.html")) return assets;
  }
  return undefined;
}

export async function consoleRoutes(app: FastifyInstance) {
  let assets: Promise<Map<string, Asset> | undefined> | undefined;
  const send = async (reply: FastifyReply, name: string) => {
    assets ??= loadAssets();
    const found = (await assets)?.get(name);
    reply.headers(CONSOLE_HEADERS);
    if (!found) {
      reply.code(404).type("text/plain; charset=utf-8");
      return name === "index.html" ? "the console was not built (npm run build)" : "not found";
    }
    // Vite names every asset by its content's hash; the page itself must always be asked again.
    reply.header("cache-control", name === "index.html" ? "no-cache" : "public, max-age=31536000, immutable");
    return reply.type(found.type).send(found.body);
  };
  const config = { public: true };
  app.get("/console", { config }, async (_req, reply) => reply.headers(CONSOLE_HEADERS).redirect("/console/", 301));
  app.get<{ Params: { "*": string } }>("/console/*", { config }, async (req, reply) =>
    send(reply, req.params["*"] || "index.html"),
  );
}
