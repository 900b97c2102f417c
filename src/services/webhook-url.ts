// Where webhooks may point. A URL must be http(s), without credentials. Private targets (loopback,
// private networks, link-local and cloud metadata addresses, and the like) are refused unless the
// policy allows them: checked on the literal address at create and update, and on every address
// the name resolves to at each delivery, which then connects to the address that was checked.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { valueNotPermitted } from "../errors.js";

const MAX_URL_LENGTH = 2048;

// Built on first use: making it (and loading Node's BlockList and SocketAddress) took about 5 ms
// of every start, which needs it only once a webhook is made or called.
let privateRanges: BlockList | undefined;

function buildPrivateRanges(): BlockList {
  const ranges = new BlockList();
  for (const [net, prefix] of [
    ["0.0.0.0", 8],
    ["168.63.129.16", 32],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4],
  ] as const) {
    ranges.addSubnet(net, prefix, "ipv4");
  }
  for (const [net, prefix] of [
    // Unspecified, loopback, and the deprecated IPv4-compatible form (::a.b.c.d).
    ["::", 96],
    ["64:ff9b::", 96],
    ["64:ff9b:1::", 48],
    ["100::", 64],
    ["2002::", 16],
    ["fec0::", 10],
    ["fc00::", 7],
    ["fe80::", 10],
    ["ff00::", 8],
  ] as const) {
    ranges.addSubnet(net, prefix, "ipv6");
  }
  return ranges;
}

/** Whether an address is one a public service must not be made to call. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  privateRanges ??= buildPrivateRanges();
  if (family === 4) return privateRanges.check(address, "ipv4");
  if (family !== 6) return true; // not an address at all: refuse rather than guess
  const lower = address.toLowerCase();
  // BlockList matches an IPv4-mapped address (::ffff:10.0.0.1, ::ffff:a00:1) against the IPv4
  // ranges itself.
  return privateRanges.check(lower, "ipv6");
}

/** The URL's host as an address, if it is one (without IPv6's brackets). */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) ? host : undefined;
}

/** Checks a webhook URL as given in a request: 400 naming `field` if it cannot be used. */
export function checkWebhookUrl(raw: string, field: string, allowPrivate: boolean): string {
  const bad = (reason: string) => valueNotPermitted(field, reason);
  if (raw.length > MAX_URL_LENGTH) throw bad(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad("must be an absolute http or https URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw bad("must be an http or https URL");
  if (url.username || url.password) throw bad("must not hold a user name or password");
  if (url.hash) throw bad("must not have a fragment");
  const address = literalAddress(url);
  if (!allowPrivate && (address ? isPrivateAddress(address) : url.hostname === "localhost")) {
    throw bad("points at a private, loopback or link-local address, which this server does not call");
  }
  return url.toString();
}

export class BlockedTarget extends Error {}

/**
 * A `lookup` for http.request: resolves as Node would, refuses the connection if any address the
 * name has is private (unless allowed), and connects to the first address checked.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const blocked = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (blocked) {
        return callback(
          new BlockedTarget(`${hostname} resolves to ${blocked.address}, a private address`) as NodeJS.ErrnoException,
          "",
          0,
        );
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`) as NodeJS.ErrnoException, "", 0);
      callback(null, first.address, first.family);
    });
  };
}

/** For a delivery: a URL whose host is an address must pass the policy as it stands now. */
export function assertTargetAllowed(raw: string, allowPrivate: boolean): void {
  const address = literalAddress(new URL(raw));
  if (!allowPrivate && address && isPrivateAddress(address)) {
    throw new BlockedTarget(`${address} is a private address`);
  }
}
