// The smallest Fastify service, bundled the way the package is (scripts/bundle.mjs): one route with
// a response schema, pino at warn. bench/startup.ts spawns it to its first 200, the floor that
// any Fastify service starts from on this machine.
import Fastify from "fastify";

const app = Fastify({ logger: { level: "warn" } });
app.get(
  "/",
  { schema: { response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } } } },
  async () => ({ ok: true }),
);
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
