// Raw bytes over TCP, for requests no HTTP client would send: oversized headers, control
// characters, bad bytes in the URL, broken request lines.
import { connect } from "node:net";

export interface RawResult {
  /** The status line, e.g. `HTTP/1.1 400 Bad Request`; "" if the server sent nothing. */
  statusLine: string;
  status: number;
  /** Header names lower-cased; the last value wins. */
  headers: Map<string, string>;
  text: string;
  body: any;
  /** True when the server closed the connection after answering, within the wait. */
  closed: boolean;
  /** Every byte the server sent. */
  raw: string;
}

/** True once `raw` holds a status line, headers and as many body bytes as Content-Length says. */
function complete(raw: Buffer): boolean {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(raw.subarray(0, end).toString("latin1"))?.[1];
  return length !== undefined && raw.length >= end + 4 + Number(length);
}

/**
 * Sends `bytes` on a new connection and reads until the server closes it. A server that keeps the
 * connection open is given `graceMs` after a complete answer (or `waitMs` in all) to close it;
 * then `closed` is false. A reset after the answer still counts as closed.
 */
export function rawRequest(url: string, bytes: string | Buffer, waitMs = 3000, graceMs = 300): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(parse(Buffer.concat(chunks).toString("latin1"), closed));
      } catch (err) {
        reject(err);
      }
    };
    let timer = setTimeout(() => finish(false), waitMs);
    let answered = false;
    socket.on("data", (c) => {
      chunks.push(c);
      if (!answered && complete(Buffer.concat(chunks))) {
        answered = true;
        clearTimeout(timer);
        timer = setTimeout(() => finish(false), graceMs);
      }
    });
    socket.on("error", () => {}); // a reset after the answer: "close" follows
    socket.on("close", () => finish(true));
    socket.on("connect", () => socket.write(bytes));
  });
}

function parse(raw: string, closed: boolean): RawResult {
  const end = raw.indexOf("\r\n\r\n");
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let text = end === -1 ? "" : raw.slice(end + 4);
  const length = headers.get("content-length");
  if (length !== undefined) text = Buffer.from(text, "latin1").subarray(0, Number(length)).toString("utf8");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  return { statusLine, status, headers, text, body, closed, raw };
}
