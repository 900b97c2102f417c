// POST /devusers.reset: empties the directory of a server run as a test stand-in, for harnesses
// that spawn it from another language. Registered only when DEVUSERS_ALLOW_RESET is true.
import type { FastifyInstance } from "fastify";
import type { Deps } from "../services/context.js";
import { resetDirectory } from "../services/directory.js";
import { emptyResponse, withErrors } from "./schemas.js";

export async function resetRoute(
  app: FastifyInstance,
  opts: { deps: Deps; bootstrap?: { email: string; org: string } },
) {
  app.post(
    "/devusers.reset",
    { schema: { operationId: "devusers-reset", response: withErrors({ 200: emptyResponse }) } },
    async (req) => {
      await resetDirectory(opts.deps, req.caller!, opts.bootstrap);
      return {};
    },
  );
}
