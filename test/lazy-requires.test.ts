// scripts/lazy-requires.mjs: inside the bundle, what Fastify requires for servers and plugins this
// service never has (node:https, node:http2, semver) loads on first use, and still works then.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { build } from "esbuild";
import { copiesDir, ROOT } from "./helpers/dist-copy.js";

const run = promisify(execFile);
const copies = copiesDir();
after(copies.remove);

// Fastify bundled as the package bundles it: which modules Node had loaded after Fastify() and
// after an http2 server, and how a plugin asking for another Fastify version was refused.
const probe = `
import Fastify from "fastify";
(async () => {
const loaded = (m) => process.moduleLoadList.includes("NativeModule " + m);
const plain = Fastify();
const before = { https: loaded("https"), http2: loaded("http2") };
const plugin = async () => {};
plugin[Symbol.for("plugin-meta")] = { fastify: ">=99" };
const refused = await plain.register(plugin).then(() => "registered", (err) => err.code);
const h2 = Fastify({ http2: true });
await h2.listen({ port: 0, host: "127.0.0.1" });
await h2.close();
console.log(JSON.stringify({ before, refused, after: { http2: loaded("http2") } }));
})();
`;

describe("the bundle's lazy requires", () => {
  it("leave Fastify without https, http2 or semver until it needs them, and work when it does", async () => {
    const { lazyRequires } = (await import(join(ROOT, "scripts", "lazy-requires.mjs"))) as { lazyRequires: never };
    const source = join(copies.dir, "probe.mjs");
    writeFileSync(source, probe);
    const outfile = join(copies.dir, "probe.cjs");
    await build({
      entryPoints: [source],
      outfile,
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      plugins: [lazyRequires],
      nodePaths: [join(ROOT, "node_modules")],
      logLevel: "silent",
    });
    const { stdout } = await run(process.execPath, [outfile]);
    assert.deepEqual(JSON.parse(stdout), {
      before: { https: false, http2: false },
      refused: "FST_ERR_PLUGIN_VERSION_MISMATCH",
      after: { http2: true },
    });
  });
});
