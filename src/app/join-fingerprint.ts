/**
 * Which server key a tab pins when it joins. The join link carries the fingerprint in its fragment
 * (`#fp=…`), which browsers never send to a server: that one is used, and a server with another key is
 * refused in the handshake, as always. A tab opened at the short address (no fragment) takes the
 * fingerprint its own origin announces in `/api/status`: the page, its scripts and the WebSocket all come
 * from that origin, so trusting its announced key is no weaker than trusting the page itself (whoever can
 * change what the origin serves can change the page's code). It still pins that key for the session.
 */
import { normalizeFingerprint } from '../crypto/identity.ts';

export interface JoinFingerprint {
  fingerprint: string;
  /** `link`: from the join link's fragment; `origin`: announced by the server that served this page. */
  source: 'link' | 'origin';
}

export class JoinFingerprintError extends Error {
  override name = 'JoinFingerprintError';
}

/**
 * The fingerprint to pin: `fromLink` when there is one, else `serverKeyFingerprint` of `status()` (this
 * page's own `/api/status`). Throws JoinFingerprintError saying what came instead.
 */
export async function joinFingerprint(
  fromLink: string | undefined,
  status: () => Promise<unknown>,
): Promise<JoinFingerprint> {
  if (fromLink?.trim()) return { fingerprint: fromLink.trim(), source: 'link' };
  let body: unknown;
  try {
    body = await status();
  } catch (e) {
    throw new JoinFingerprintError(
      `this page's server did not answer /api/status (${e instanceof Error ? e.message : String(e)}): open the join link, or enter the fingerprint`,
    );
  }
  const fp = (body as { serverKeyFingerprint?: unknown } | null)?.serverKeyFingerprint;
  if (typeof fp !== 'string' || normalizeFingerprint(fp) === null)
    throw new JoinFingerprintError(
      `expected this page's server to announce its key fingerprint in /api/status, got ${JSON.stringify(fp ?? null)?.slice(0, 60)}: open the join link, or enter the fingerprint`,
    );
  return { fingerprint: fp, source: 'origin' };
}

/** This page's own `/api/status` (same origin, never cached). */
export async function ownStatus(): Promise<unknown> {
  const res = await fetch('/api/status', { cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}
