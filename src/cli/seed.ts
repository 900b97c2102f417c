import { UsageError } from "./args.js";

export async function seedCommand(_argv: string[]): Promise<number> {
  throw new UsageError("seed is not available yet");
}
