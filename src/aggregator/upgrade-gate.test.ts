import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Coordinator } from './coordinator.ts';
import { upgradeGate } from './upgrade-gate.ts';

/** A raw upgrade socket as far as the gate sees it: what was written, and whether it was ended. */
class FakeSocket extends EventEmitter {
  answer: string | null = null;
  destroyed = false;
  end(s: string) {
    this.answer = s;
  }
  destroy() {
    this.destroyed = true;
  }
}

function upgrade(ip: string, headers: Record<string, string> = {}) {
  const socket = new FakeSocket();
  const req = { url: '/ws', headers, socket: { remoteAddress: ip } } as unknown as IncomingMessage;
  return { req, socket, duplex: socket as unknown as Duplex };
}

function gateWithLog() {
  const counts: Record<string, number> = {};
  const lines: string[] = [];
  const coordinator = {
    count(reason: string) {
      counts[reason] = (counts[reason] ?? 0) + 1;
    },
  } as unknown as Coordinator;
  const gate = upgradeGate({
    coordinator,
    origins: () => new Set(['http://127.0.0.1:8080']),
    log: (l) => lines.push(l),
  });
  return { gate, counts, lines };
}

describe('upgrade gate under a flood', () => {
  it('counts every refusal but logs a flood of them at most once a second per kind', () => {
    const { gate, counts, lines } = gateWithLog();
    const held = [];
    for (let i = 0; i < 256; i++) {
      const u = upgrade('127.0.0.1');
      expect(gate.admit(u.req, u.duplex)).toBe(true);
      held.push(u);
    }
    for (let i = 0; i < 500; i++) {
      const u = upgrade('127.0.0.1');
      expect(gate.admit(u.req, u.duplex)).toBe(false);
      expect(u.socket.answer).toMatch(/^HTTP\/1.1 429 /);
    }
    for (let i = 0; i < 500; i++) {
      const u = upgrade('127.0.0.3', { origin: 'http://evil.example' });
      expect(gate.admit(u.req, u.duplex)).toBe(false);
      expect(u.socket.answer).toMatch(/^HTTP\/1.1 403 /);
      expect(u.socket.destroyed).toBe(true);
    }
    expect(counts).toEqual({ 'too-many-connections': 500, 'origin-refused': 500 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/127\.0\.0\.1 already has 256 connections/);
    expect(lines[1]).toMatch(/refused Origin "http:\/\/evil\.example"/);
    // A closed connection frees its place.
    held[0]!.socket.emit('close');
    const u = upgrade('127.0.0.1');
    expect(gate.admit(u.req, u.duplex)).toBe(true);
  });
});
