// The web console's build: Preact, bundled into dist/console, which the service serves at /console/.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/console/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("../dist/console"),
    emptyOutDir: true,
    // Every asset is a file of its own: the Content-Security-Policy allows no data: URL.
    assetsInlineLimit: 0,
    // The polyfill would be code only old browsers need.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
});
