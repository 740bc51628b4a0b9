import { describe, expect, it } from 'vitest';
import {
  configChange,
  configProblem,
  newClassLine,
  plainRefusal,
  responseDetail,
  responseError,
  WRONG_TOKEN,
} from './admin.ts';
import { status } from './test-support.ts';

const values = { strategy: 'fedavg', rounds: 10, fraction: 1, min: 2, max: 10 };

describe('admin helpers', () => {
  it('sends only what changed (re-sending the strategy would restart it)', () => {
    expect(configChange(status(), values)).toEqual({});
    expect(configChange(status(), { ...values, strategy: 'median', rounds: 12 })).toEqual({
      strategy: 'median',
      rounds: 12,
    });
    expect(configChange(status(), { ...values, fraction: 0.5 })).toEqual({
      clientsPerRound: { fraction: 0.5, min: 2, max: 10 },
    });
  });

  it('checks the form before sending', () => {
    expect(configProblem(values)).toBeNull();
    expect(configProblem({ ...values, strategy: 'sgd' })).toMatch(/unknown strategy/);
    expect(configProblem({ ...values, rounds: 0 })).toMatch(/rounds/);
    expect(configProblem({ ...values, fraction: 1.5 })).toMatch(/fraction/);
    expect(configProblem({ ...values, min: 3, max: 2 })).toMatch(/maximum/);
    expect(configProblem({ ...values, rounds: Number.NaN })).toMatch(/rounds/);
  });

  it("shows the server's error message with the status", async () => {
    const body = JSON.stringify({ error: 'admin token required: send "Authorization: Bearer <token>"' });
    const res = new Response(body, { status: 401, statusText: 'Unauthorized' });
    expect(await responseError(res)).toBe(
      '401 Unauthorized: admin token required: send "Authorization: Bearer <token>"',
    );
    expect(await responseError(new Response('plain', { status: 500 }))).toBe('500: plain');
    expect(await responseError(new Response('', { status: 404 }))).toBe('404');
  });

  it('says refusals in plain words for the projected page (issue 11)', async () => {
    const wrong = new Response(JSON.stringify({ error: 'admin token required: send …' }), { status: 401 });
    const text = plainRefusal(401, await responseDetail(wrong));
    expect(text).toBe(WRONG_TOKEN);
    expect(text).toMatch(/not right.*printed when the server started.*\.pqfed\/admin-token/);
    expect(text).not.toMatch(/401|Bearer|Unauthorized/);
    const finished = 'The experiment is finished: 3 of 3 rounds are done. Start a new class.';
    expect(plainRefusal(409, finished)).toBe(finished);
    expect(plainRefusal(400, 'admin config: rounds must be ≥ 1')).toBe(
      'The server did not accept that: admin config: rounds must be ≥ 1.',
    );
    expect(plainRefusal(404, 'no admin action "new-session"')).toMatch(/older PQFed/);
    expect(plainRefusal(500, 'internal error')).toBe(
      'The server hit an error (HTTP 500); its log says more.',
    );
  });

  it('says where the previous class went after a new class', () => {
    expect(newClassLine({ session: '0123456789abcdef0123', archived: 'abc-2026-11-27T17-00-00.json' })).toBe(
      "New class started (session 0123456789ab), at round 0. The previous class's history is archived on the " +
        'server as archive/abc-2026-11-27T17-00-00.json. Students join again with the same link.',
    );
    expect(newClassLine({})).toMatch(/^New class started \(session new\)/);
  });
});
