/**
 * This tab's friendly name ("Blue Otter"): made at random the first time, editable by the student, kept
 * with the tab (sessionStorage, like the tab's id: a reload keeps it, another tab gets its own) and sent in
 * `hello`, so the class dashboard shows it. Sanitized here before it is stored or sent, and again by the
 * aggregator (src/core/display-name.ts).
 */
import { friendlyName, sanitizeName } from '../core/display-name.ts';
import { PROTOCOL } from '../core/limits.ts';
import { byId } from './dashboard/dom.ts';

const KEY = 'pqfed-tab-name';

type Store = Pick<Storage, 'getItem' | 'setItem'>;

/** The stored name, or a new friendly one (stored). */
export function tabName(store: Store = sessionStorage): string {
  const stored = sanitizeName(store.getItem(KEY) ?? '');
  if (stored) return stored;
  const name = friendlyName();
  store.setItem(KEY, name);
  return name;
}

/** Stores `raw` sanitized; null (nothing stored) when nothing of it is left. */
export function setTabName(raw: string, store: Store = sessionStorage): string | null {
  const name = sanitizeName(raw);
  if (!name) return null;
  store.setItem(KEY, name);
  return name;
}

/**
 * The name field of the client page: shows the name, and on "Rename" stores the sanitized one and calls
 * `renamed` (the page rejoins, so the dashboard shows the new name at once).
 */
export function mountTabName(renamed: () => Promise<void>): void {
  const form = byId<HTMLFormElement>('name-form');
  const input = byId<HTMLInputElement>('tab-name');
  const said = byId('tab-name-status');
  input.maxLength = PROTOCOL.maxDisplayNameChars;
  input.value = tabName();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = setTabName(input.value);
    if (!name) {
      said.dataset.state = 'error';
      said.textContent = 'Use letters or digits: nothing of that name would be shown.';
      input.value = tabName();
      return;
    }
    input.value = name;
    said.dataset.state = 'ok';
    said.textContent = `Renamed to ${name}.`;
    void renamed();
  });
}
