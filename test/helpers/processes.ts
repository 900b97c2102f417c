// The service as its users run it: `devusers <command>` in a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/devusers.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LOG_LEVEL: "warn", ...env };
}

/** Runs one CLI command to its end. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Everything the process logged. */
  output(): string;
}

/** Starts `devusers serve` on a free port and resolves once it logs that it listens. */
export function startServe(env: Record<string, string>): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve"], {
      env: childEnv({ HOST: "127.0.0.1", PORT: "0", ...env, LOG_LEVEL: "info" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    const onData = (d: Buffer) => {
      log += d;
      const url = /"url":"(http:\/\/[^"]+)"/.exec(log)?.[1];
      if (url) {
        child.stdout.off("data", onData);
        child.stdout.on("data", (more) => {
          log += more;
        });
        resolve({ child, url, exited, output: () => log });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => {
      log += d;
    });
    child.on("error", reject);
    exited.then((code) => reject(new Error(`devusers serve exited (${code}) before listening:\n${log}`)));
  });
}

/** A port nothing listens on (taken from the OS, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
