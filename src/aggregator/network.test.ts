import { describe, expect, it } from 'vitest';
import {
  browserOrigins,
  certificateNames,
  type Interfaces,
  PublicUrlError,
  parsePublicUrl,
  printedBases,
  publicBase,
  reachableAddresses,
} from './network.ts';

/** A made-up classroom laptop: loopback, wired and Wi-Fi addresses, an IPv6 link-local and a global one. */
const LAPTOP: Interfaces = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true },
  ],
  eth0: [
    { address: 'fe80::1c2d:3eff:fe4f:5a6b', family: 'IPv6', internal: false },
    { address: '10.0.0.7', family: 'IPv4', internal: false },
  ],
  wlan0: [
    { address: '2001:db8::7', family: 'IPv6', internal: false },
    { address: '192.168.1.5', family: 'IPv4', internal: false },
  ],
};
const MACHINE = { interfaces: LAPTOP, hostname: 'Teacher-Laptop' };

describe('reachable addresses', () => {
  it('lists every non-internal address when listening on every interface, IPv4 first', () => {
    expect(reachableAddresses('0.0.0.0', LAPTOP)).toEqual(['10.0.0.7', '192.168.1.5']);
    expect(reachableAddresses('::', LAPTOP)).toEqual(['10.0.0.7', '192.168.1.5', '2001:db8::7']);
  });
  it('is the listen address itself otherwise, and nothing on a machine without a network', () => {
    expect(reachableAddresses('127.0.0.1', LAPTOP)).toEqual(['127.0.0.1']);
    expect(reachableAddresses('0.0.0.0', { lo: LAPTOP.lo })).toEqual([]);
  });
});

describe('the public base URL', () => {
  it('is the first LAN address, never localhost, when there is one', () => {
    expect(publicBase({ host: '0.0.0.0', port: 8080, https: false }, LAPTOP)).toBe('http://10.0.0.7:8080');
    expect(publicBase({ host: '::', port: 8443, https: true }, LAPTOP)).toBe('https://10.0.0.7:8443');
  });
  it('is localhost on a machine without a network, and the listen host when it is one address', () => {
    expect(publicBase({ host: '0.0.0.0', port: 80, https: false }, {})).toBe('http://localhost');
    expect(publicBase({ host: '127.0.0.1', port: 4202, https: false }, LAPTOP)).toBe('http://127.0.0.1:4202');
    expect(publicBase({ host: '::1', port: 4202, https: false }, LAPTOP)).toBe('http://[::1]:4202');
  });
  it('is --public-url when given, whatever the interfaces', () => {
    const l = { host: '0.0.0.0', port: 8080, https: false, publicUrl: 'https://fl.school.example/' };
    expect(publicBase(l, LAPTOP)).toBe('https://fl.school.example');
    expect(printedBases(l, LAPTOP)).toEqual([
      'https://fl.school.example',
      'http://10.0.0.7:8080',
      'http://192.168.1.5:8080',
    ]);
  });
  it('refuses a --public-url that is not a plain http(s) URL, naming it', () => {
    for (const bad of [
      'classroom.test',
      'ftp://x.example',
      'https://x.example/?a=1',
      'https://u:p@x.example',
    ])
      expect(() => parsePublicUrl(bad)).toThrow(PublicUrlError);
    expect(() => parsePublicUrl('nope')).toThrow(/got "nope"/);
    expect(parsePublicUrl('https://proxy.example/pqfed/')).toBe('https://proxy.example/pqfed');
  });
});

describe('certificate names', () => {
  it('cover the hostname, localhost, loopback, the LAN addresses and the public URL host', () => {
    const names = certificateNames(
      { host: '0.0.0.0', port: 8443, https: true, publicUrl: 'https://classroom.test:8443' },
      MACHINE,
    );
    expect(names.dns.sort()).toEqual([
      'classroom.test',
      'localhost',
      'teacher-laptop',
      'teacher-laptop.local',
    ]);
    expect(names.ips.sort()).toEqual(['10.0.0.7', '127.0.0.1', '192.168.1.5', '2001:db8::7', '::1']);
  });
  it('cover an IP public URL as an address, and only the listen host when bound to one', () => {
    const names = certificateNames(
      { host: '127.0.0.1', port: 1, https: true, publicUrl: 'https://[2001:db8::9]:1' },
      MACHINE,
    );
    expect(names.ips.sort()).toEqual(['127.0.0.1', '2001:db8::9', '::1']);
  });
});

describe('browser origins', () => {
  it('are the loopback names, hostname, LAN addresses, public URL and extras: not whatever Host says', () => {
    const origins = browserOrigins(
      { host: '0.0.0.0', port: 8080, https: false, publicUrl: 'https://fl.school.example' },
      MACHINE,
      ['https://lab.example'],
    );
    expect([...origins].sort()).toEqual([
      'http://10.0.0.7:8080',
      'http://127.0.0.1:8080',
      'http://192.168.1.5:8080',
      'http://[::1]:8080',
      'http://localhost:8080',
      'http://teacher-laptop.local:8080',
      'http://teacher-laptop:8080',
      'https://fl.school.example',
      'https://lab.example',
    ]);
    expect(origins.has('http://evil.example:8080')).toBe(false);
    expect(origins.has('http://undefined')).toBe(false);
  });
  it('use the scheme the server speaks and drop a default port as browsers do', () => {
    const origins = browserOrigins({ host: '127.0.0.1', port: 443, https: true }, MACHINE);
    expect(origins.has('https://localhost')).toBe(true);
    expect(origins.has('http://localhost:443')).toBe(false);
    expect(origins.has('https://10.0.0.7')).toBe(false);
  });
});
