// An esbuild plugin of scripts/bundle.mjs. Fastify requires at load modules for what this service
// never asks of it, each a few ms of every start: node:https and node:http2 (with TLS) in
// server.js, for servers it makes only when told to; semver in plugin-utils.js, for plugins that
// name the Fastify versions they need. Inside those two files they become stand-ins that load the
// module on first use; anywhere else, and for anything else, imports are as usual.
const lazyInFastify = {
  "lib/server.js": ["node:https", "node:http2"],
  "lib/plugin-utils.js": ["semver"],
};

export const lazyRequires = {
  name: "lazy-requires",
  setup(b) {
    b.onResolve({ filter: /^(node:https|node:http2|semver)$/ }, (args) => {
      const file = /[\\/]node_modules[\\/]fastify[\\/](lib[\\/][^\\/]+\.js)$/.exec(args.importer)?.[1];
      if (!file || !lazyInFastify[file.replaceAll("\\", "/")]?.includes(args.path)) return undefined;
      return { path: args.path, namespace: "lazy", pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy" }, (args) => ({
      contents: `let m;
const load = () => (m ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });
`,
      loader: "js",
      resolveDir: args.pluginData.resolveDir,
    }));
  },
};
