/**
 * The address a request comes from, for per-address limits and logs. The socket's peer address, unless the
 * server was told (`--trust-proxy`) that it sits behind a reverse proxy: then the address that proxy put
 * last in `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For`. The last entry is the one the nearest
 * (trusted) proxy added; entries before it came from the client and can say anything. Without
 * `--trust-proxy` both headers are ignored: anyone can send them.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

const resolved = new WeakMap<IncomingMessage, string>();

/** The last `for=` of a `Forwarded` header, unquoted, without brackets or port; undefined if none is an IP. */
export function lastForwardedFor(header: string): string | undefined {
  const fors = [...header.matchAll(/(?:^|[;,\s])for=("?)([^",;]+)\1/gi)].map((m) => m[2]!.trim());
  return fors.length ? plainIp(fors[fors.length - 1]!) : undefined;
}

/** The last entry of an `X-Forwarded-For` list, if it is an IP address. */
export function lastXForwardedFor(header: string): string | undefined {
  const list = header
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length ? plainIp(list[list.length - 1]!) : undefined;
}

/** `[2001:db8::1]:443` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`; anything else that is no IP → undefined. */
function plainIp(v: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  const ip = bracketed ? bracketed[1]! : /^[\d.]+:\d+$/.test(v) ? v.slice(0, v.lastIndexOf(':')) : v;
  return isIP(ip) ? ip : undefined;
}

/** Works out `req`'s client address once (at the first look) and keeps it with the request. */
export function resolveClientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const known = resolved.get(req);
  if (known !== undefined) return known;
  const peer = req.socket.remoteAddress ?? '?';
  let address = peer;
  if (trustProxy) {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    const forwarded = header('forwarded');
    const xff = header('x-forwarded-for');
    address =
      (forwarded !== undefined ? lastForwardedFor(forwarded) : undefined) ??
      (xff !== undefined ? lastXForwardedFor(xff) : undefined) ??
      peer;
  }
  resolved.set(req, address);
  return address;
}

/** The client address resolved for `req` by the server, or its socket's peer address. */
export function clientAddressOf(req: IncomingMessage): string {
  return resolved.get(req) ?? req.socket.remoteAddress ?? '?';
}
