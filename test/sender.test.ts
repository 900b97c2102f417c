// The delivery sender (src/delivery/sender.ts) makes its keep-alive agents, and loads node:https,
// on first use: each protocol still gets one agent, reused, and an https attempt is made over TLS.
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createSender } from "../src/delivery/sender.js";

describe("the delivery sender", () => {
  const peers = new Set<number>();
  const server = createHttpServer((req, res) => {
    peers.add(req.socket.remotePort!);
    res.end("ok");
  });
  let port: number;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const sender = createSender({ timeoutMs: 2000, allowPrivate: true, maxSockets: 4 });
  after(() => sender.close());
  const target = (scheme: string) => ({ url: `${scheme}://127.0.0.1:${port}/hook`, secret: "s", headers: [] });

  it("delivers over http, one connection kept alive between attempts", async () => {
    for (let i = 0; i < 3; i++) {
      const attempt = await sender.send(target("http"), "{}");
      assert.equal(attempt.status, 200);
      assert.equal(attempt.body, "ok");
    }
    assert.equal(peers.size, 1);
  });

  it("speaks TLS to an https URL: a plain HTTP server there is a failed attempt, not a thrown one", async () => {
    const attempt = await sender.send(target("https"), "{}");
    assert.equal(attempt.ok, false);
    assert.equal(attempt.status, null);
    assert.match(attempt.error ?? "", /SSL|TLS|EPROTO|wrong version/i);
  });
});
