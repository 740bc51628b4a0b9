import { describe, expect, it } from 'vitest';
import { configChange, configProblem, responseError } from './admin.ts';
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
});
