/**
 * The Federation section of the client page: joins from the join link (`/?autojoin=1#fp=<fingerprint>`,
 * optionally `&code=<class code>` in the fragment, never in the query string), from the short address
 * without a fragment (the fingerprint its own origin announces: join-fingerprint.ts) or from the form, and shows
 * what the worker's client reports: connecting, waiting, training round N (with progress), sending, refused
 * and why, reconnecting, finished. Everything runs in the trainer worker; this only displays.
 */

import { proxy } from 'comlink';
import { isEngineChoice } from '../engine/choice.ts';
import type { PageStatus } from '../worker/browser-client.ts';
import { byId as el } from './dashboard/dom.ts';
import { joinFingerprint, ownStatus } from './join-fingerprint.ts';
import { tabName } from './tab-name.ts';
import type { TrainerHandle } from './trainer.ts';

/** The join link's fragment: `#fp=…&code=…` (URL-encoded). */
export function parseFragment(hash: string): { fingerprint?: string; code?: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const fingerprint = params.get('fp') ?? undefined;
  const code = params.get('code') ?? undefined;
  return { ...(fingerprint && { fingerprint }), ...(code && { code }) };
}

/** A person-readable line for each status. */
export function describe(s: PageStatus): string {
  switch (s.state) {
    case 'connecting':
      return s.attempt === 0 ? 'Connecting to the server…' : `Connecting again (attempt ${s.attempt + 1})…`;
    case 'joined':
      return `Joined as ${s.clientId}.`;
    case 'waiting':
      return `Waiting for the next round: ${s.message}.`;
    case 'training':
      return `Training round ${s.round} on this device…`;
    case 'progress':
      return `Training round ${s.round}: step ${s.stepsDone} of ${s.steps}, loss ${s.loss.toFixed(4)}.`;
    case 'sending':
      return `Sending the sealed update for round ${s.round}…`;
    case 'refused':
      return `Refused (${s.reason}): ${s.message}`;
    case 'reconnecting':
      return `Connection lost (${s.why}); reconnecting in ${(s.inMs / 1000).toFixed(1)} s (attempt ${s.attempt}).`;
    case 'finished':
      return `The experiment is finished; this tab contributed to ${s.rounds} rounds.`;
    case 'stopped':
      return 'Not joined.';
    case 'preparing':
      return s.message;
  }
}

export function mountFederation(
  trainer: TrainerHandle,
  ready: () => Promise<void>,
  onData: () => void,
): { rejoin(): Promise<void>; joinAgain(): void } {
  const ui = {
    status: el<HTMLParagraphElement>('fed-status'),
    server: el('fed-server'),
    client: el('fed-client'),
    rounds: el('fed-rounds'),
    form: el<HTMLFormElement>('fed-form'),
    fingerprint: el<HTMLInputElement>('fed-fingerprint'),
    code: el<HTMLInputElement>('fed-code'),
    join: el<HTMLButtonElement>('fed-join'),
    leave: el<HTMLButtonElement>('fed-leave'),
    prepare: el<HTMLProgressElement>('fed-prepare'),
    prepareText: el('fed-prepare-text'),
    progress: el<HTMLProgressElement>('fed-progress'),
    progressText: el('fed-progress-text'),
  };
  const fragment = parseFragment(location.hash);
  if (fragment.fingerprint) ui.fingerprint.value = fragment.fingerprint;
  if (fragment.code) ui.code.value = fragment.code;
  let joined = false;
  let running: Promise<void> = Promise.resolve();

  const show = (s: PageStatus) => {
    if (s.state !== 'progress' && s.state !== 'preparing') {
      ui.status.textContent = describe(s);
      ui.status.dataset.state = s.state;
    }
    if ('contributed' in s && s.contributed !== undefined) ui.rounds.textContent = String(s.contributed);
    switch (s.state) {
      case 'joined':
        ui.client.textContent = `${s.clientId}${s.shard === null ? '' : ` (shard ${s.shard + 1})`}`;
        ui.client.dataset.clientId = s.clientId;
        ui.server.textContent = s.serverFingerprint;
        onData();
        break;
      case 'preparing':
        ui.prepareText.textContent = s.message;
        if (s.fraction === null) ui.prepare.removeAttribute('value');
        else ui.prepare.value = s.fraction;
        break;
      case 'progress':
        ui.progress.max = s.steps;
        ui.progress.value = s.stepsDone;
        ui.progressText.textContent = `round ${s.round}: ${s.stepsDone} / ${s.steps} steps, ${s.samplesPerSec.toFixed(0)} samples/s`;
        ui.status.dataset.state = 'training';
        break;
      case 'training':
        ui.progress.value = 0;
        break;
      case 'refused':
        if (s.reason === 'unauthorized') ui.code.focus();
        break;
    }
  };

  // The short address (no fragment): the fingerprint this page's own server announces fills the form.
  const announced = fragment.fingerprint
    ? Promise.resolve()
    : joinFingerprint(undefined, ownStatus).then(
        (f) => {
          if (ui.fingerprint.value.trim()) return;
          ui.fingerprint.value = f.fingerprint;
          ui.fingerprint.dataset.source = f.source;
        },
        () => {},
      );

  /** The Backend section's "Training engine" (read when joining). */
  const engineSelect = el<HTMLSelectElement>('engine-select');

  async function join(): Promise<void> {
    joined = true;
    ui.join.disabled = true;
    await announced;
    let fingerprint: string;
    try {
      fingerprint = (await joinFingerprint(ui.fingerprint.value, ownStatus)).fingerprint;
    } catch (err) {
      ui.status.textContent = `Enter the server fingerprint from the join link (or open the join link): ${err instanceof Error ? err.message : String(err)}`;
      ui.status.dataset.state = 'error';
      ui.fingerprint.focus();
      joined = false;
      ui.join.disabled = false;
      return;
    }
    ui.leave.disabled = false;
    await ready();
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    try {
      await trainer.api.join(
        {
          url,
          fingerprint,
          name: tabName(),
          token: ui.code.value,
          engine: isEngineChoice(engineSelect.value) ? engineSelect.value : 'auto',
        },
        proxy(show),
      );
    } catch (err) {
      ui.status.textContent = `Could not take part: ${err instanceof Error ? err.message : String(err)}`;
      ui.status.dataset.state = 'error';
    } finally {
      joined = false;
      ui.join.disabled = false;
      ui.leave.disabled = true;
      onData();
    }
  }

  const start = () => {
    running = join();
  };
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!joined) start();
  });
  ui.leave.addEventListener('click', () => void trainer.api.leave());
  if (new URLSearchParams(location.search).get('autojoin') === '1') start();
  return {
    /** After the data changed: a joined tab leaves and joins again, so the server sees the new rows. */
    async rejoin() {
      if (!joined) return;
      await trainer.api.leave();
      await running;
      start();
    },
    /** A tab whose run finished joins again (the teacher started a new class); a tab that left does not. */
    joinAgain() {
      if (!joined && ui.status.dataset.state === 'finished' && ui.fingerprint.value.trim()) start();
    },
  };
}
