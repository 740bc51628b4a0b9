import { describe, expect, it } from 'vitest';
import { logField } from './log-field.ts';

describe('logField', () => {
  it('escapes newlines, carriage returns and the terminal escape', () => {
    const forged = 'ann\n16:20:00 admin stop\r\u001b[2J';
    const out = logField(forged);
    expect(out).toBe('ann\\n16:20:00 admin stop\\r\\x1b[2J');
    for (const c of ['\n', '\r', '\u001b']) expect(out).not.toContain(c);
  });
  it('escapes C1 controls, DEL, Unicode line separators and backslashes', () => {
    expect(logField('a\u009bb\u007fc\u2028d\\n')).toBe('a\\x9bb\\x7fc\\u2028d\\\\n');
  });
  it('cuts long fields by code points and marks the cut', () => {
    expect(logField('x'.repeat(500), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(logField('🙂'.repeat(5), 3)).toBe('🙂🙂🙂…');
  });
  it('leaves ordinary text alone', () => {
    expect(logField('Chromium 131, wasm')).toBe('Chromium 131, wasm');
  });
});
