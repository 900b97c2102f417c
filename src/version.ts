// The package's version, read once from package.json (two levels above the compiled file).
import { readFileSync } from "node:fs";

export const version: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    return pkg.version;
  } catch {
    return "0.0.0";
  }
})();
