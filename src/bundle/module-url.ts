// Injected into the CommonJS bundle (scripts/bundle.mjs) as what `import.meta.url` stands for in
// our sources: the bundle's own URL, so that paths beside it (package.json, the checkpoint worker)
// resolve as they did from the ES modules.
import { pathToFileURL } from "node:url";

export const moduleUrl = pathToFileURL(__filename).href;
