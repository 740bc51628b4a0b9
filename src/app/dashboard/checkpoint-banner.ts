/**
 * A banner over the dashboard while the server cannot write its checkpoint (`/api/status`'s `checkpoint`,
 * aggregator/durable-store.ts): the run goes on and is kept in memory, but a restart now would lose the
 * rounds since the last save. Gone again once a write succeeds.
 */

/** `/api/status`'s `checkpoint` (absent on older servers). */
export interface CheckpointJson {
  ok: boolean;
  error: string | null;
  failedSince: string | null;
  lastSavedRound: number | null;
}

/** The banner's text, or null when there is nothing to warn about. */
export function checkpointWarning(c: CheckpointJson | undefined): string | null {
  if (!c || c.ok) return null;
  const since = c.failedSince ? ` since ${c.failedSince.slice(11, 19)} UTC` : '';
  const saved =
    c.lastSavedRound === null
      ? 'no round has been saved by this server run'
      : `the last saved round is ${c.lastSavedRound}`;
  return (
    `The server cannot save its checkpoint${since} (${c.error ?? 'unknown error'}). The experiment goes on ` +
    `in memory and the write is retried, but a restart now would lose the rounds after it: ${saved}.`
  );
}

/** Shows, updates or removes the banner at the top of the page. */
export function renderCheckpointBanner(c: CheckpointJson | undefined): void {
  const text = checkpointWarning(c);
  let el = document.getElementById('checkpoint-banner');
  if (text === null) {
    el?.remove();
    return;
  }
  if (!el) {
    el = document.createElement('p');
    el.id = 'checkpoint-banner';
    el.setAttribute('role', 'alert');
    el.className = 'checkpoint-banner';
    document.body.prepend(el);
  }
  if (el.textContent !== text) el.textContent = text;
}
