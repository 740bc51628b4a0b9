/**
 * The teacher's lifecycle on a real aggregator with its data directory: the admin token survives a
 * restart; Start on a finished run says why it cannot; "New class" (`POST /api/admin/new-session`) archives
 * the finished session's history and starts at round 0 with a new session id, a fresh model and the same
 * server key; a restart resumes the new session; `newSession` at start-up (`pqfed serve --new-session`)
 * does the same from a checkpoint.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE } from '../src/aggregator/admin-token.ts';
import { startAggregator } from '../src/aggregator/aggregator.ts';
import { loadCheckpoint } from '../src/aggregator/checkpoint.ts';
import { ARCHIVE_DIR, ARCHIVE_FORMAT } from '../src/aggregator/session-archive.ts';
import { serverChannelsFor } from '../src/cli/channels.ts';
import {
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  testClient,
  waitFor,
} from './federation.ts';

const open: TestAggregator[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.agg.close();
});

async function post(t: TestAggregator, action: string, token = t.agg.adminToken) {
  const r = await fetch(`http://127.0.0.1:${t.agg.port}/api/admin/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function status(t: TestAggregator) {
  return (await (await fetch(`http://127.0.0.1:${t.agg.port}/api/status`)).json()) as {
    session: string;
    round: number;
    phase: string;
    serverKeyFingerprint: string;
    modelVersion: number;
    history: unknown[];
  };
}

describe('the teacher lifecycle', () => {
  it('keeps the admin token across a restart, archives a finished class and starts a new one', async () => {
    const exp = await smallExperiment({ rounds: 1, autoStart: true, quorum: 2 });
    const t = await startTestAggregator(exp);
    open.push(t);
    const tokenFile = join(t.dataDir, ADMIN_TOKEN_FILE);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(t.agg.adminToken);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    // One round with two clients: the run is finished.
    const clients = await Promise.all(
      exp.shards(2, { kind: 'iid' }).map((s, i) => testClient(t, s, `s${i}`)),
    );
    await Promise.all(clients.map((c) => c.run()));
    const done = await status(t);
    expect(done.phase).toBe('finished');
    expect(done.history).toHaveLength(1);

    // Start on a finished run: refused, in words that say what to do.
    const start = await post(t, 'start');
    expect(start.status).toBe(409);
    expect(start.body.error).toMatch(/finished: 1 of 1 rounds are done.*new class/i);
    // A wrong token cannot start a new class.
    expect((await post(t, 'new-session', 'wrong-token')).status).toBe(401);

    // New class: archived, round 0, new session, initial model, same server key.
    const fresh = await post(t, 'new-session');
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ ok: true, round: 0, previous: done.session });
    const after = await status(t);
    expect(after.session).toBe(fresh.body.session);
    expect(after.session).not.toBe(done.session);
    expect(after).toMatchObject({ round: 0, modelVersion: 0, history: [] });
    expect(after.phase).not.toBe('finished');
    expect(after.serverKeyFingerprint).toBe(done.serverKeyFingerprint);
    const files = readdirSync(join(t.dataDir, ARCHIVE_DIR));
    expect(files).toEqual([fresh.body.archived]);
    expect(files[0]).toMatch(
      new RegExp(`^${done.session}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.json$`),
    );
    const archive = JSON.parse(readFileSync(join(t.dataDir, ARCHIVE_DIR, files[0]!), 'utf8'));
    expect(archive).toMatchObject({ format: ARCHIVE_FORMAT, session: done.session, rounds: 1 });
    expect(archive.history).toHaveLength(1);
    expect(archive.history[0].round).toBe(1);
    // The checkpoint already holds the new session: a restart resumes it, not the archived one.
    expect(loadCheckpoint(t.dataDir)).toMatchObject({ session: after.session, round: 0 });

    // Restart on the same data directory: same token, same key, the new session.
    const token = t.agg.adminToken;
    await t.agg.close();
    open.pop();
    const again = await startTestAggregator(exp, t.dataDir);
    open.push(again);
    expect(again.agg.adminToken).toBe(token);
    const resumed = await status(again);
    expect(resumed.session).toBe(after.session);
    expect(resumed.serverKeyFingerprint).toBe(done.serverKeyFingerprint);
    expect((await post(again, 'pause', token)).status).toBe(200);
  }, 90_000);

  it('starts a new session at start-up from a checkpoint (pqfed serve --new-session)', async () => {
    const exp = await smallExperiment({ rounds: 1, autoStart: true, quorum: 2 });
    const t = await startTestAggregator(exp);
    open.push(t);
    const clients = await Promise.all(
      exp.shards(2, { kind: 'iid' }).map((s, i) => testClient(t, s, `s${i}`)),
    );
    await Promise.all(clients.map((c) => c.run()));
    await waitFor(() => t.agg.coordinator.status(null).phase === 'finished', 10_000, 'the finished run');
    const old = t.agg.coordinator.session;
    await t.agg.close();
    open.pop();

    const { server, close } = await serverChannelsFor(t.dataDir, 'xwing');
    const agg = await startAggregator({
      experiment: exp,
      dataDir: t.dataDir,
      channels: server,
      port: 0,
      host: '127.0.0.1',
      staticRoot: null,
      newSession: true,
      release: close,
    });
    open.push({ ...t, agg });
    expect(agg.resumed).toBeNull();
    expect(agg.archived?.session).toBe(old);
    expect(existsSync(agg.archived!.path!)).toBe(true);
    const s = agg.coordinator.status(null);
    expect(s.session).not.toBe(old);
    expect(s.round).toBe(0);
    expect(s.history).toEqual([]);
  }, 90_000);
});
