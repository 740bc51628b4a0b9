import { describe, expect, it } from 'vitest';
import { originNotice } from './origin-notice.ts';

describe('the origin notice', () => {
  it('says what plain HTTP on a LAN name withholds, and what the teacher can do', () => {
    const text = originNotice({
      protocol: 'http:',
      hostname: 'classroom.test',
      isSecureContext: false,
      crossOriginIsolated: false,
    });
    expect(text).toMatch(/plain HTTP from classroom\.test/);
    for (const withheld of ['WebGPU', 'WASM runs on one thread', 'offline use'])
      expect(text).toContain(withheld);
    expect(text).toContain('--https');
  });

  it('is silent on a secure, isolated origin, and names the missing headers otherwise', () => {
    const secure = { protocol: 'https:', hostname: 'classroom.test', isSecureContext: true };
    expect(originNotice({ ...secure, crossOriginIsolated: true })).toBeNull();
    expect(originNotice({ ...secure, crossOriginIsolated: false })).toMatch(/COOP\/COEP.*one thread/);
  });
});
