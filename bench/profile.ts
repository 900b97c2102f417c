// Reads a V8 .cpuprofile and sums self time per function and per file or package.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { table } from "./report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Cost {
  name: string;
  ms: number;
  share: number;
}

function where(url: string): string {
  if (url === "") return "(native/V8)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return url;
  for (const dir of ["/dist/", "/build/"]) {
    const at = url.indexOf(dir);
    if (at >= 0) return url.slice(at + 1);
  }
  return url;
}

export function summarize(dir: string, top = 20): { functions: Cost[]; files: Cost[]; totalMs: number } {
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byNode.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") return;
    total += us;
    const place = where(url);
    const name = `${functionName || "(anonymous)"} ${url ? `${place}:${lineNumber + 1}` : ""}`.trim();
    fn.set(name, (fn.get(name) ?? 0) + us);
    const group = url ? place : functionName;
    files.set(group, (files.get(group) ?? 0) + us);
  });
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { functions: rank(fn), files: rank(files), totalMs: total / 1000 };
}

export function costTable(title: string, costs: Cost[]): string {
  return table(
    [title, "self ms", "share of busy time"],
    costs.map((c) => [c.name, c.ms.toFixed(0), `${(c.share * 100).toFixed(1)}%`]),
  );
}
