// The baseline: a bare Fastify server, no database, no auth. POST /user parses the same JSON
// body as identities.link and returns a real dev user; GET /page returns a real 50-user page.
// Both are serialized per request, as the service's responses are. Prints "PORT <n>" when ready.
import { readFileSync } from "node:fs";
import Fastify from "fastify";

interface Sample {
  user: unknown;
  page: unknown;
}

async function main(): Promise<void> {
  const sample = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as Sample;
  const app = Fastify({ logger: false });
  app.post("/user", async (req) => {
    const body = req.body as { dev_user?: unknown };
    if (typeof body?.dev_user !== "string") throw new Error("no dev_user in the body");
    return sample.user;
  });
  app.get("/page", async () => sample.page);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`PORT ${port}\n`);
  process.once("SIGTERM", () => {
    app.close().then(() => process.exit(0));
  });
}

main().catch((err) => {
  process.stderr.write(`baseline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
