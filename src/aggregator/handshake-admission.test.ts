import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { handshakeAdmission } from './handshake-admission.ts';
import { InboxBudget } from './inbox-budget.ts';

/** A raw upgrade socket as far as the admission sees it: what was written, and whether it was ended. */
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

function upgrade(ip: string) {
  const socket = new FakeSocket();
  const req = { socket: { remoteAddress: ip } } as unknown as IncomingMessage;
  return { req, socket, duplex: socket as unknown as Duplex };
}

function counter(counts: Record<string, number>) {
  return {
    count(reason: string) {
      counts[reason] = (counts[reason] ?? 0) + 1;
    },
  };
}

describe('handshake admission', () => {
  it('lets a burst through per address, then refuses with 429 until the bucket refills', () => {
    let t = 0;
    const counts: Record<string, number> = {};
    const a = handshakeAdmission({
      coordinator: counter(counts),
      log: () => {},
      limits: { upgradeBurst: 3, upgradesPerSecond: 2, handshakesPerAddress: 100, handshakesInFlight: 100 },
      now: () => t,
    });
    for (let i = 0; i < 3; i++) {
      const u = upgrade('10.0.0.1');
      a.admit(u.req, u.duplex)?.release();
      expect(u.socket.answer).toBeNull();
    }
    const refused = upgrade('10.0.0.1');
    expect(a.admit(refused.req, refused.duplex)).toBeNull();
    expect(refused.socket.answer).toMatch(/^HTTP\/1.1 429 .*Retry-After: 1/s);
    expect(counts['upgrade-rate-limited']).toBe(1);
    // Another address has its own bucket; half a second later this one has one token again.
    const other = upgrade('10.0.0.2');
    expect(a.admit(other.req, other.duplex)).not.toBeNull();
    t += 500;
    const again = upgrade('10.0.0.1');
    expect(a.admit(again.req, again.duplex)).not.toBeNull();
  });

  it('holds handshakes in flight per address and in total until released or closed (503)', () => {
    const counts: Record<string, number> = {};
    const a = handshakeAdmission({
      coordinator: counter(counts),
      log: () => {},
      limits: { upgradeBurst: 100, upgradesPerSecond: 100, handshakesPerAddress: 2, handshakesInFlight: 3 },
      now: () => 0,
    });
    const first = upgrade('10.0.0.1');
    const t1 = a.admit(first.req, first.duplex)!;
    const second = upgrade('10.0.0.1');
    a.admit(second.req, second.duplex);
    const third = upgrade('10.0.0.1');
    expect(a.admit(third.req, third.duplex)).toBeNull();
    expect(third.socket.answer).toMatch(/^HTTP\/1.1 503/);
    expect(counts['handshake-busy-address']).toBe(1);
    const b = upgrade('10.0.0.2');
    a.admit(b.req, b.duplex);
    const c = upgrade('10.0.0.3');
    expect(a.admit(c.req, c.duplex)).toBeNull();
    expect(counts['handshake-busy']).toBe(1);
    expect(a.inFlight).toBe(3);
    t1.release();
    t1.release(); // idempotent
    second.socket.emit('close');
    expect(a.inFlight).toBe(1);
    const d = upgrade('10.0.0.1');
    expect(a.admit(d.req, d.duplex)).not.toBeNull();
  });
});

describe('inbox budget', () => {
  it('pauses the connection that goes over the cap and resumes all once below three quarters', () => {
    const budget = new InboxBudget(100);
    const events: string[] = [];
    const conn = (name: string) => ({
      pause: () => events.push(`pause ${name}`),
      resume: () => events.push(`resume ${name}`),
    });
    const a = conn('a');
    const b = conn('b');
    budget.take(60, a);
    budget.take(50, b);
    budget.take(10, a);
    expect(events).toEqual(['pause b', 'pause a']);
    expect(budget.peak).toBe(120);
    budget.give(30);
    expect(events).toHaveLength(2);
    budget.give(20);
    expect(events).toEqual(['pause b', 'pause a', 'resume b', 'resume a']);
    expect(budget.queued).toBe(70);
  });
});
