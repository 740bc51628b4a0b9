import { describe, expect, it } from 'vitest';
import { setTabName, tabName } from './tab-name.ts';

function store(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    m,
  };
}

describe("the tab's name", () => {
  it('is made once and kept with the tab', () => {
    const s = store();
    const first = tabName(s);
    expect(first).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(tabName(s)).toBe(first);
  });

  it('is stored sanitized; an empty result keeps the old name', () => {
    const s = store({ 'pqfed-tab-name': 'Blue Otter' });
    expect(setTabName('  <b>Zoë</b>\u202E  row 3 ', s)).toBe('bZoëb row 3');
    expect(tabName(s)).toBe('bZoëb row 3');
    expect(setTabName('<<>>\u0000', s)).toBeNull();
    expect(tabName(s)).toBe('bZoëb row 3');
    expect(setTabName('x'.repeat(100), s)).toHaveLength(32);
  });

  it('replaces a stored name that sanitizes to nothing', () => {
    const s = store({ 'pqfed-tab-name': '\u0000\u0001' });
    expect(tabName(s)).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
  });
});
