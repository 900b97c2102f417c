// A tiny TCP proxy to put between the service and a real server, so a test can take the server
// "down" and bring it back without touching the server itself.
//   cut("refuse"):    stop listening and reset every open connection (a server that went away);
//   cut("blackhole"): keep connections open but let nothing through (a network partition).
// restore() resets whatever the cut left open and forwards again.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export type CutMode = "refuse" | "blackhole";

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  cut(mode: CutMode): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  let mode: CutMode | "open" = "open";
  let accepted = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };

  const server = createServer((client) => {
    accepted++;
    track(client);
    if (mode === "blackhole") {
      client.pause(); // accepted, never answered
      return;
    }
    const upstream = tcpConnect(targetPort, targetHost);
    track(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("data", (chunk) => {
      if (mode === "open") upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (mode === "open") client.write(chunk);
    });
  });
  const port = await listen(server, 0);

  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };

  return {
    port,
    accepted: () => accepted,
    async cut(m) {
      mode = m;
      if (m === "refuse") {
        await Promise.all([closeServer(server), Promise.resolve(resetAll())]);
      }
    },
    async restore() {
      resetAll();
      mode = "open";
      if (!server.listening) await listen(server, port);
    },
    async close() {
      resetAll();
      await closeServer(server);
    },
  };
}
