/**
 * The least a configured secret must be: a class code (join token) of at least
 * `HOSTILE.minJoinTokenChars` characters and a `PQFED_ADMIN_TOKEN` of at least `minAdminTokenChars`. With
 * the per-address backoff (guess-backoff.ts) a 6-character code holds out for years; a 4-digit one fell
 * in 125 guesses without it (issue 12). Whitespace around a secret is a typo, not strength.
 */

/** Why `value` is too weak to be `what`, or null when it is strong enough. */
export function weakSecret(value: string, minChars: number, what: string): string | null {
  if (value.trim() !== value) return `${what} must not begin or end with whitespace`;
  const n = Array.from(value).length;
  if (n < minChars) return `${what} must be at least ${minChars} characters, got ${n} (easy to guess)`;
  if (/^(.)\1*$/u.test(value)) return `${what} must not repeat one character (easy to guess)`;
  return null;
}
