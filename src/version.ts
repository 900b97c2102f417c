// The package's version, read once from its package.json: one level above the compiled file in
// the package (dist/), two in the development build (build/src/).
import { readFileSync } from "node:fs";

export const version: string = (() => {
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { name: string; version: string };
      if (pkg.name === "devusers") return pkg.version;
    } catch {
      // not there: try the next
    }
  }
  return "0.0.0";
})();
