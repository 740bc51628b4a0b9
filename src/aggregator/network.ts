/**
 * Where a classroom reaches the aggregator: the addresses to print, the base URL put in the join link and
 * QR code, the names a self-signed certificate must cover, and the browser origins allowed to open `/ws`.
 * Pure functions over a given interface list (the shape of `os.networkInterfaces()`), so tests never look up
 * the machine's own addresses: `pqfed serve` passes the real list, tests pass made-up ones.
 */
import { isIP } from 'node:net';

/** One address of one interface, as `os.networkInterfaces()` lists it. */
export interface InterfaceAddress {
  address: string;
  family: string | number;
  internal: boolean;
}

export type Interfaces = Record<string, readonly InterfaceAddress[] | undefined>;

/** The machine as the listening config sees it (what `pqfed serve` reads from `node:os`). */
export interface Machine {
  interfaces: Interfaces;
  hostname: string;
}

/** How the server listens and how it is reached. */
export interface Listening {
  /** The listen address; `0.0.0.0` or `::` means every interface. */
  host: string;
  port: number;
  https: boolean;
  /** `--public-url`: the address put in links (a DNS name, a reverse proxy), when given. */
  publicUrl?: string | undefined;
}

export class PublicUrlError extends Error {
  override name = 'PublicUrlError';
}

/** The listen addresses that mean "every interface". */
export const EVERY_INTERFACE = ['0.0.0.0', '::'] as const;

export function listensEverywhere(host: string): boolean {
  return (EVERY_INTERFACE as readonly string[]).includes(host);
}

const isV4 = (a: InterfaceAddress) => a.family === 'IPv4' || a.family === 4;
/** fe80::/10 needs a zone id (`%eth0`) that a URL cannot carry portably: never offered as a link. */
const isLinkLocalV6 = (address: string) => /^fe[89ab][0-9a-f]:/i.test(address);

/**
 * The addresses other devices can reach this server at: every non-internal address (IPv4 first, IPv6
 * link-local left out) when it listens on every interface; the listen address itself otherwise.
 */
export function reachableAddresses(host: string, interfaces: Interfaces): string[] {
  if (!listensEverywhere(host)) return [host];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal && !isLinkLocalV6(a.address));
  const v4 = external.filter(isV4).map((a) => a.address);
  const v6 = host === '::' ? external.filter((a) => !isV4(a)).map((a) => a.address) : [];
  return [...new Set([...v4, ...v6])];
}

/** A host as it appears in a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** `--public-url`, checked: an http(s) URL with no query or fragment; returned without a trailing slash. */
export function parsePublicUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PublicUrlError(
      `--public-url must be an absolute URL like https://classroom.example, got "${raw}"`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new PublicUrlError(`--public-url must start with http:// or https://, got "${raw}"`);
  if (u.search || u.hash || u.username || u.password)
    throw new PublicUrlError(`--public-url must have no query, fragment or credentials, got "${raw}"`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The base URL put in the join link and the QR code: `--public-url` when given, else the first address
 * another device can reach (`localhost` when there is none, or when the server listens on loopback only).
 */
export function publicBase(l: Listening, interfaces: Interfaces): string {
  if (l.publicUrl) return parsePublicUrl(l.publicUrl);
  const shown = reachableAddresses(l.host, interfaces)[0] ?? 'localhost';
  return new URL(`${l.https ? 'https' : 'http'}://${urlHost(shown)}:${l.port}`).origin;
}

/** Every base URL worth printing: the public one first, then each other reachable address. */
export function printedBases(l: Listening, interfaces: Interfaces): string[] {
  const scheme = l.https ? 'https' : 'http';
  const each = reachableAddresses(l.host, interfaces).map(
    (a) => new URL(`${scheme}://${urlHost(a)}:${l.port}`).origin,
  );
  return [...new Set([publicBase(l, interfaces), ...each])];
}

/** The machine's own names: its hostname and, for a bare one, its mDNS name (`teacher-laptop.local`). */
export function machineNames(hostname: string): string[] {
  const h = hostname.toLowerCase();
  if (!h) return [];
  return h.includes('.') ? [h] : [h, `${h}.local`];
}

/** The names a self-signed certificate for this server must cover. */
export function certificateNames(l: Listening, machine: Machine): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const n of machineNames(machine.hostname)) dns.add(n);
  const add = (h: string) => (isIP(h) ? ips.add(h) : dns.add(h.toLowerCase()));
  if (listensEverywhere(l.host)) {
    for (const list of Object.values(machine.interfaces))
      for (const a of list ?? []) if (!a.internal && !isLinkLocalV6(a.address)) ips.add(a.address);
  } else add(l.host);
  if (l.publicUrl) add(new URL(parsePublicUrl(l.publicUrl)).hostname.replace(/^\[|\]$/g, ''));
  return { dns: [...dns], ips: [...ips] };
}

/**
 * The browser origins allowed to open `/ws`: the public URL's, the loopback names, the machine's hostname,
 * every reachable address of the listening config (all at the port and scheme the server speaks), plus the
 * experiment's `allowedOrigins`. Never derived from a request's `Host` header, which a DNS-rebinding page
 * controls.
 */
export function browserOrigins(l: Listening, machine: Machine, extra: readonly string[] = []): Set<string> {
  const scheme = l.https ? 'https' : 'http';
  const hosts = new Set(['localhost', '127.0.0.1', '::1', ...reachableAddresses(l.host, machine.interfaces)]);
  for (const n of machineNames(machine.hostname)) hosts.add(n);
  const origins = new Set<string>();
  for (const h of hosts) origins.add(new URL(`${scheme}://${urlHost(h)}:${l.port}`).origin);
  if (l.publicUrl) origins.add(new URL(parsePublicUrl(l.publicUrl)).origin);
  for (const o of extra) origins.add(new URL(o).origin);
  return origins;
}
