/**
 * A client id's key binding is on disk the moment it is made: a real `pqfed serve` child process, one
 * client joins, the server is SIGKILLed before any round ends, restarted on the same data directory; then
 * another key claiming that (public) id is refused and the owner gets its id back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../src/core/protocol.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import { rawConnection } from './federation.ts';

const BIN = new URL('../bin/pqfed.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pqfed-bind-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  url: string;
  spec: { kind: 'pq'; pinnedFingerprint: string; minimumSuite: 'xwing' };
}

/** Starts `pqfed serve --json` on an ephemeral loopback port; resolves with its info line. */
function serve(): Promise<Served> {
  const config = join(dir, 'experiment.json');
  writeFileSync(
    config,
    JSON.stringify({ maxTrainRows: 2000, maxTestRows: 200, rounds: 2, autoStart: false, quorum: 1 }),
  );
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      join(dir, 'data'),
      '--config',
      config,
      '--json',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PQFED_ADMIN_TOKEN: 'test-admin-token-0123' },
    },
  );
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start in 60 s:\n${err}`)), 60_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      const info = JSON.parse(d.toString()) as { url: string; serverKeyFingerprint: string };
      ok({
        child,
        url: `${info.url.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`,
        spec: { kind: 'pq', pinnedFingerprint: info.serverKeyFingerprint, minimumSuite: 'xwing' },
      });
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code}:\n${err}`)));
  });
}

/** Joins with `identity`, claiming `claim`; resolves with the id the server gave. */
async function joinAs(s: Served, identity: ReturnType<typeof generateIdentity>, claim?: string) {
  const c = await rawConnection(s.url, s.spec, identity);
  await c.send(
    encodeFrame({
      type: 'hello',
      name: 'b',
      backend: 'test',
      numSamples: 10,
      ...(claim !== undefined && { clientId: claim }),
    }),
  );
  const w = await c.nextOf('welcome');
  c.ws.close();
  return w.clientId;
}

describe('key bindings across a SIGKILL', () => {
  it('another key claiming a bound id after a crash and restart is refused; the owner gets it back', async () => {
    const owner = generateIdentity();
    const first = await serve();
    const id = await joinAs(first, owner);
    expect(id).toMatch(/^c-[0-9a-f]+$/);
    first.child.kill('SIGKILL');
    await new Promise((ok) => first.child.once('exit', ok));

    const second = await serve();
    const thief = await joinAs(second, generateIdentity(), id);
    expect(thief).not.toBe(id);
    expect(await joinAs(second, owner)).toBe(id);
    const status = (await (
      await fetch(`${second.url.replace(/^ws/, 'http').replace(/\/ws$/, '')}/api/status`)
    ).json()) as {
      refusals: Record<string, number>;
    };
    expect(status.refusals['id-claim-refused']).toBe(1);
    second.child.kill('SIGKILL');
  }, 180_000);
});
