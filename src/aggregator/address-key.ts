/**
 * The key per-address limits count by: an IPv4 address (also when written as an IPv4-mapped IPv6
 * address), or the /64 prefix of an IPv6 address, which one host or home usually owns whole: counting by
 * full IPv6 address would let one machine take a fresh budget per address of its /64.
 */
import { isIPv6 } from 'node:net';

export function addressKey(ip: string | undefined): string {
  if (!ip) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A Map that forgets its least recently touched entries beyond `max` (bounded memory per address). */
export class BoundedMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  /** The entry for `key`, made (by `make`) when absent, and marked as the most recently used. */
  touch(key: string, make: () => V): V {
    let v = this.map.get(key);
    if (v === undefined) v = make();
    else this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return v;
  }
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}
