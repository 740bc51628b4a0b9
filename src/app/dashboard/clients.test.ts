import { describe, expect, it } from 'vitest';
import { clientsNote } from './clients.ts';

describe('the clients table with many clients', () => {
  it('says nothing when every client is listed', () => {
    expect(clientsNote(undefined)).toBeNull();
    expect(clientsNote({ total: 30, listed: 30, idle: 30, training: 0, submitted: 0 })).toBeNull();
  });

  it('counts every client by state when only some are listed', () => {
    expect(clientsNote({ total: 1000, listed: 100, idle: 10, training: 600, submitted: 390 })).toBe(
      '1,000 clients connected (600 training, 390 update sent, 10 idle); the first 100 by id are listed.',
    );
  });
});
