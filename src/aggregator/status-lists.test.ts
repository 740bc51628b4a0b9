import { describe, expect, it } from 'vitest';
import { boundList, listedClients } from './status-lists.ts';

describe('status lists', () => {
  const clients = ['c-3', 'c-1', 'c-2'].map((id) => ({ id }));

  it('lists every client, in their order, up to the limit', () => {
    expect(listedClients(clients, 3).map((c) => c.id)).toEqual(['c-3', 'c-1', 'c-2']);
  });

  it('lists the first clients by id beyond the limit', () => {
    expect(listedClients(clients, 2).map((c) => c.id)).toEqual(['c-1', 'c-2']);
  });

  it('keeps a short list whole and cuts a long one to the listed clients', () => {
    const listed = new Set(['c-1']);
    expect(boundList(['c-9', 'c-1'], (x) => x, listed, 2)).toEqual(['c-9', 'c-1']);
    expect(boundList(['c-9', 'c-1', 'c-8'], (x) => x, listed, 2)).toEqual(['c-1']);
    const metrics = [{ clientId: 'c-1' }, { clientId: 'c-7' }, { clientId: 'c-8' }];
    expect(boundList(metrics, (m) => m.clientId, listed, 2)).toEqual([{ clientId: 'c-1' }]);
  });
});
