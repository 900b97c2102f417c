// A node:test reporter that adds one line at the end of a run: how many suites and tests were
// skipped, and why, so a run without PostgreSQL or Redis says so where it is read last.
// Used beside the default reporter: --test-reporter=spec --test-reporter=<this file>.

interface TestEvent {
  type: string;
  data: { name?: string; skip?: string | boolean; nesting?: number; file?: string };
}

export default async function* skipReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const reasons = new Map<string, number>();
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { skip } = event.data;
    if (skip === undefined || skip === false) continue;
    skipped++;
    const reason = typeof skip === "string" ? skip : "skipped without a reason";
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  if (skipped === 0) return;
  const why = [...reasons].map(([reason, n]) => `${reason} (${n}×)`).join("; ");
  yield `${skipped} suite${skipped === 1 ? "" : "s"} skipped: ${why}\n`;
}
