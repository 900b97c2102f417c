// Per-request access logs at debug, the level they are turned on at: Fastify's own controller
// writes them at info, so LOG_LEVEL=debug showed them as level 30 lines among the info ones.
import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

export class AccessLog extends LogController {
  override incomingRequest(request: FastifyRequest, _reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, "incoming request");
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, "request completed");
  }
}
