// The smallest Fastify service: one route with a response schema, pino at warn. bench/startup.ts
// bundles it as the package was and as it is (scripts/bundle.mjs), and spawns it to its first
// 200: the floor that any Fastify service starts from on this machine.
import Fastify from "fastify";

const app = Fastify({ logger: { level: "warn" } });
app.get(
  "/",
  { schema: { response: { 200: { type: "object", properties: { ok: { type: "boolean" } } } } } },
  async () => ({ ok: true }),
);
// Not awaited at the top level, which a CommonJS bundle cannot do.
void app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
