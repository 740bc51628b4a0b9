import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayName, friendlyName, sanitizeName } from './display-name.ts';
import { PROTOCOL } from './limits.ts';

describe('display names', () => {
  it('keeps letters of any script, digits, spaces and a little punctuation', () => {
    expect(sanitizeName('Blue Otter')).toBe('Blue Otter');
    expect(sanitizeName("Zoë's tab #2")).toBe("Zoë's tab #2");
    expect(sanitizeName('Лиса 7')).toBe('Лиса 7');
    expect(sanitizeName('山田 (front row)')).toBe('山田 (front row)');
  });

  it('strips markup, control and format characters, and collapses spaces', () => {
    expect(sanitizeName('<script>alert(1)</script>')).toBe('scriptalert(1)script');
    expect(sanitizeName('a\u0000b\u0007c\nd\te')).toBe('abc d e');
    expect(sanitizeName('evil\u202Egnp.exe')).toBe('evilgnp.exe');
    expect(sanitizeName('zero\u200Bwidth')).toBe('zerowidth');
    expect(sanitizeName('   lots    of   space   ')).toBe('lots of space');
    expect(sanitizeName('`rm -rf` ; $HOME | x = "y"')).toBe('rm -rf HOME x y');
  });

  it('cuts to the limit without splitting a character', () => {
    const long = '🙂'.repeat(5) + 'é'.repeat(100);
    const out = sanitizeName(long);
    expect(Array.from(out)).toHaveLength(PROTOCOL.maxDisplayNameChars);
    expect(out.startsWith('é')).toBe(true); // the emoji are not letters
    expect(sanitizeName('abcdef', 3)).toBe('abc');
  });

  it('falls back when nothing is left', () => {
    expect(displayName('\u0000\u0001<>', 'unnamed tab')).toBe('unnamed tab');
    expect(displayName(' Fox ', 'x')).toBe('Fox');
  });

  it('never lets through a control or format character, whatever comes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const out = sanitizeName(s);
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}<>"`$\\/]/u);
        expect(Array.from(out).length).toBeLessThanOrEqual(PROTOCOL.maxDisplayNameChars);
        expect(out).toBe(out.trim());
        expect(sanitizeName(out)).toBe(out);
      }),
    );
  });

  it('makes friendly names that survive sanitizing', () => {
    expect(friendlyName(() => 0)).toBe('Amber Badger');
    expect(friendlyName(() => 0.999_999)).toBe('Yellow Zebra');
    for (let i = 0; i < 50; i++) {
      const n = friendlyName();
      expect(n).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
      expect(sanitizeName(n)).toBe(n);
    }
  });
});
