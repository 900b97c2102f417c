// Every connection the HTTP server has accepted, and the requests read on each, so that a shutdown
// (src/server.ts) can tell a socket that may still carry a request from one that is done with,
// and answer, at its deadline, whatever is still unanswered.
//
// Node's own closeIdleConnections() (which server.close() calls) cannot tell them apart: to it, a
// socket whose request the kernel holds but Node has not read yet is idle, and closing it resets
// a request already sent.
import { Server, type Socket } from "node:net";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ApiError } from "./errors.js";
import { closingAnswer } from "./plugins/error-handler.js";

interface Connection {
  /** When it was accepted. */
  since: number;
  /** Requests read on it and not yet answered. */
  open: Set<FastifyReply>;
  /** Whether a response has ended on it. */
  answered: boolean;
  /** socket.bytesRead as its last response ended: more since then is a request on its way. */
  readAtAnswer: number;
}

export interface Connections {
  /** From now on every response says Connection: close, also those of requests under way. */
  closeAfterAnswer(): void;
  /** Stops accepting connections, leaving every accepted one as it is. */
  stopListening(): void;
  /**
   * Closes every connection that holds no unanswered request: one whose last answer has ended
   * with nothing read since, or one that has sent nothing in `firstRequestGraceMs` since it was
   * accepted. Returns how many connections are left open.
   */
  closeIdle(firstRequestGraceMs: number): number;
  /**
   * The deadline: every request not yet answered gets `api` (and Connection: close), and every
   * other connection is closed. What its handler does afterwards reaches neither the client nor
   * the log. Returns how many requests were answered so.
   */
  answerUnfinished(api: ApiError): number;
  /** Resets whatever is still open. */
  destroyAll(): void;
  /** Connections open now. */
  size(): number;
  /** Requests read and not yet answered. */
  unanswered(): number;
}

/** Tracks `app`'s connections; call before app.ready(), so its hook sees every request. */
export function trackConnections(app: FastifyInstance): Connections {
  const connections = new Map<Socket, Connection>();
  let closing = false;

  app.server.on("connection", (socket: Socket) => {
    connections.set(socket, { since: Date.now(), open: new Set(), answered: false, readAtAnswer: 0 });
    socket.once("close", () => connections.delete(socket));
  });
  // The first onRequest hook, for every route and the 404s: Node has parsed the request's head, and
  // Fastify runs this synchronously from the server's request event.
  app.addHook("onRequest", (req, reply, done) => {
    const socket = req.raw.socket as Socket;
    const conn = connections.get(socket);
    if (conn) {
      conn.open.add(reply);
      reply.raw.once("close", () => {
        conn.open.delete(reply);
        conn.answered = true;
        conn.readAtAnswer = socket.bytesRead;
      });
    }
    if (closing) reply.header("connection", "close");
    done();
  });

  return {
    closeAfterAnswer() {
      closing = true;
      for (const conn of connections.values()) {
        for (const reply of conn.open) if (!reply.raw.headersSent) reply.raw.setHeader("connection", "close");
      }
    },
    stopListening() {
      // net.Server's close, not http.Server's: that one also closes "idle" connections.
      if (app.server.listening) Server.prototype.close.call(app.server);
    },
    closeIdle(firstRequestGraceMs) {
      const now = Date.now();
      for (const [socket, conn] of connections) {
        if (conn.open.size > 0 || socket.bytesRead > conn.readAtAnswer) continue;
        if (!conn.answered && now - conn.since < firstRequestGraceMs) continue;
        socket.destroy();
        connections.delete(socket);
      }
      return connections.size;
    },
    answerUnfinished(api) {
      let answered = 0;
      const { body, headers } = closingAnswer(api);
      for (const [socket, conn] of connections) {
        if (conn.open.size === 0) {
          socket.destroy();
          continue;
        }
        for (const reply of conn.open) {
          if (reply.raw.headersSent) {
            socket.destroy(); // an answer under way cannot be replaced
            break;
          }
          reply.hijack();
          // Its handler may still fail (its database connection is about to be cut): not news.
          if (reply.log !== app.log) reply.log.level = "silent";
          reply.raw.writeHead(api.status, headers).end(body);
          answered++;
        }
      }
      return answered;
    },
    destroyAll() {
      for (const socket of connections.keys()) socket.destroy();
      connections.clear();
    },
    size: () => connections.size,
    unanswered() {
      let n = 0;
      for (const conn of connections.values()) n += conn.open.size;
      return n;
    },
  };
}
