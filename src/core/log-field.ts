/**
 * One helper for every text from the network that reaches a log line (a client's name and backend, a
 * claimed id, a refusal's message, a URL, an Origin): control characters, newlines and the terminal's
 * escape character cannot forge a log line or drive the operator's terminal, and a field is cut to a
 * readable length. C0 and C1 controls, DEL and the Unicode line/paragraph separators are written as
 * `\n`, `\r`, `\t` or `\xNN` / `\uNNNN`; a backslash is doubled so an escape cannot be forged either.
 */
import { HOSTILE } from './limits.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this helper's job
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '\\':
      return '\\\\';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
  }
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `value` made safe for one log line: escaped, and at most `max` characters of it kept (then `…`). */
export function logField(value: unknown, max: number = HOSTILE.maxLogFieldChars): string {
  const s = typeof value === 'string' ? value : String(value);
  // Cut before escaping (an escape is never split), by code points (a surrogate pair is never split).
  const chars = Array.from(s);
  const kept = chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
  return kept.replace(UNSAFE, escapeChar);
}
