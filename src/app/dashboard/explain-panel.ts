/**
 * "Why is this flow flagged?": pick a held-out flow (a suggested one, or any row by number) and see which of
 * its features pushed the global model towards the class it predicted — gradient × input of that class's
 * logit (src/model/explain.ts), from `GET /api/explain?row=N`.
 *
 * The bars diverge from a centre line: to the right (red) the features that pushed towards the predicted
 * class, to the left (blue) those that pushed away; every bar carries its signed number, so colour is never
 * the only cue. The chart is hidden from screen readers, which get a table with the same numbers and a
 * one-sentence summary instead. Native controls only (select, number input, buttons), so it is keyboard
 * operable; loading states and errors go to a polite live region.
 */

import { NOISE_FLOOR, shortNumber } from '../../core/rounding.ts';
import type { Explanation, FeatureAttribution, FlowSuggestion } from '../../model/explain.ts';
import { responseError } from './admin.ts';
import { h } from './dom.ts';

/** Bars drawn (the table lists the same rows). */
export const TOP_FEATURES = 12;

const pctOf = (p: number) => `${Math.round(p * 100)}%`;

/** "row 123 — predicted ddos (97%), actually ddos". */
export function suggestionLabel(s: FlowSuggestion): string {
  return `row ${s.row} — predicted ${s.predicted.className} (${pctOf(s.predicted.probability)}), actually ${s.actual.className}`;
}

/** A number written short (src/core/rounding.ts): 3 significant digits, "0" for float noise. */
export { shortNumber };

/** A signed attribution: "+0.412", "−0.037" (a real minus sign). */
export function signed(x: number): string {
  if (Math.abs(x) < NOISE_FLOOR) return '+0.000';
  const s = Math.abs(x) < 1e-3 && x !== 0 ? Math.abs(x).toExponential(1) : Math.abs(x).toFixed(3);
  return `${x < 0 ? '−' : '+'}${s}`;
}

/** What a feature's value reads as: the original value of a numeric column, the category of another. */
export function displayValue(f: FeatureAttribution): string {
  if (f.kind === 'numeric') return shortNumber(f.raw ?? (f.value as number));
  return String(f.value);
}

export interface Bar {
  name: string;
  value: string;
  attribution: number;
  /** |attribution| as a share of the largest shown, in [0, 1]. */
  share: number;
  side: 'toward' | 'away';
}

/** The `n` largest attributions (the server sorts them by |attribution|) as bars scaled to the largest. */
export function bars(e: Pick<Explanation, 'features'>, n = TOP_FEATURES): Bar[] {
  const top = e.features.slice(0, n);
  const max = top.reduce((m, f) => Math.max(m, Math.abs(f.attribution)), 0);
  return top.map((f) => ({
    name: f.name,
    value: displayValue(f),
    attribution: f.attribution,
    share: max > 0 ? Math.abs(f.attribution) / max : 0,
    side: f.attribution < 0 ? 'away' : 'toward',
  }));
}

const BENIGN = /^(normal|benign)$/i;

/**
 * "Flagged as ddos (p = 97%). The features that pushed the model most toward this class: src_bytes (1.2e+04),
 * conn_state (S0), proto (tcp). It is actually ddos." — for a benign prediction, "Classified as normal".
 */
export function summarySentence(e: Explanation, n = 3): string {
  const verb = BENIGN.test(e.predicted.className) ? 'Classified' : 'Flagged';
  const head = `${verb} as ${e.predicted.className} (p = ${pctOf(e.predicted.probability)}).`;
  const target = e.target === e.predicted.className ? 'this class' : e.target;
  const toward = e.features.filter((f) => f.attribution > 0).slice(0, n);
  const why = toward.length
    ? ` The features that pushed the model most toward ${target}: ${toward.map((f) => `${f.name} (${displayValue(f)})`).join(', ')}.`
    : ` No feature pushed the model toward ${target}.`;
  const truth =
    e.actual.classIndex === e.predicted.classIndex
      ? ` It is actually ${e.actual.className}: correct.`
      : ` It is actually ${e.actual.className}: a mistake.`;
  return head + why + truth;
}

/** A row typed by hand: an integer in [0, rows), or the reason it is not. */
export function parseRow(text: string, rows: number | null): { row: number } | { error: string } {
  const t = text.trim();
  const range = rows !== null ? ` from 0 to ${rows - 1}` : '';
  if (!/^(0|[1-9][0-9]*)$/.test(t)) {
    return { error: `Enter a row number${range} (a whole number), not "${t.slice(0, 20)}".` };
  }
  const row = Number(t);
  if (rows !== null && row >= rows) return { error: `There are ${rows} held-out rows: enter a row${range}.` };
  return { row };
}

const COLOURS = { toward: '#c62828', away: '#1565c0' } as const;

let mounted = 0;

export interface ExplainPanel {
  /**
   * Tells the panel which global model the server holds now (its version: the rounds aggregated into it).
   * When it changes, the suggested flows reload quietly (the choice is kept when still suggested), and an
   * explanation on screen says it was made with an earlier model and offers to explain the flow again.
   */
  modelChanged(version: number): void;
}

/** Fills `container` with the panel (heading included unless `heading: false`) and loads the suggestions. */
export function mountExplainPanel(
  container: HTMLElement,
  opts: { endpoint?: string; heading?: boolean } = {},
): ExplainPanel {
  const endpoint = opts.endpoint ?? '/api/explain';
  const id = `explain${mounted++ || ''}`;
  let rows: number | null = null;
  let seq = 0;
  let inFlight: AbortController | null = null;
  /** The server's model version as last told, and the row and version of the explanation on screen. */
  let modelVersion: number | null = null;
  let shown: { row: number; version: number | null } | null = null;

  const status = h('p', {
    id: `${id}-status`,
    class: 'explain-status',
    role: 'status',
    'aria-live': 'polite',
  });
  const select = h(
    'select',
    { id: `${id}-suggested`, disabled: true },
    h('option', { value: '' }, 'Loading…'),
  );
  const rowInput = h('input', {
    id: `${id}-row`,
    type: 'number',
    inputmode: 'numeric',
    min: 0,
    step: 1,
    'aria-describedby': `${id}-row-help`,
  });
  const rowHelp = h('span', { id: `${id}-row-help`, class: 'help' }, 'Any held-out row.');
  const refresh = h('button', { type: 'button' }, 'Refresh suggestions');
  const form = h(
    'form',
    { class: 'explain-form', 'aria-describedby': `${id}-intro`, novalidate: true },
    h('p', {}, h('label', { for: select.id }, 'Suggested flow '), select, ' ', refresh),
    h(
      'p',
      {},
      h('label', { for: rowInput.id }, 'Or row number '),
      rowInput,
      ' ',
      h('button', { type: 'submit' }, 'Explain'),
      ' ',
      rowHelp,
    ),
  );
  const result = h('div', { class: 'explain-result' });
  container.replaceChildren(
    ...(opts.heading === false ? [] : [h('h2', { id: `${id}-title` }, 'Why is this flow flagged?')]),
    h(
      'p',
      { id: `${id}-intro`, class: 'help' },
      'Pick a held-out flow. The bars show which of its features pushed the global model toward the class it ' +
        'predicted (→, red) or away from it (←, blue): the gradient of that class’s score times the input.',
    ),
    form,
    status,
    result,
  );
  if (opts.heading !== false && !container.hasAttribute('aria-labelledby')) {
    container.setAttribute('aria-labelledby', `${id}-title`);
  }

  /** Writes the live region; `spoken` is announced too, but not shown (it repeats what is on screen). */
  function say(text: string, kind: 'info' | 'error' = 'info', spoken = ''): void {
    status.dataset.kind = kind;
    status.style.color = kind === 'error' ? '#b00020' : '';
    status.style.fontWeight = kind === 'error' ? '600' : '';
    status.replaceChildren(text, ...(spoken ? [h('span', { class: 'visually-hidden' }, ` ${spoken}`)] : []));
  }

  /** Loads the suggested flows; `quiet` (after a new model) announces nothing but an error. */
  async function loadSuggestions(quiet = false): Promise<void> {
    refresh.disabled = true;
    if (!quiet) {
      select.disabled = true;
      say('Loading suggested flows…');
    }
    try {
      const res = await fetch(endpoint, { cache: 'no-store' });
      if (!res.ok) throw new Error(await responseError(res));
      const body = (await res.json()) as { rows: number; suggestions: FlowSuggestion[] };
      rows = body.rows;
      rowInput.max = String(Math.max(0, rows - 1));
      rowHelp.textContent = rows > 0 ? `0 to ${rows - 1}.` : 'There are no held-out rows.';
      const keep = select.value;
      select.replaceChildren(
        h('option', { value: '' }, body.suggestions.length ? 'Choose a flow…' : 'No suggestions'),
        ...body.suggestions.map((s) =>
          h('option', { value: s.row, 'data-correct': s.correct }, suggestionLabel(s)),
        ),
      );
      if (keep && body.suggestions.some((s) => String(s.row) === keep)) select.value = keep;
      select.disabled = body.suggestions.length === 0;
      if (!quiet) say(`${body.suggestions.length} suggested flows of ${rows} held-out rows.`);
    } catch (e) {
      select.replaceChildren(h('option', { value: '' }, 'Unavailable'));
      say(`Could not load the suggested flows: ${(e as Error).message}`, 'error');
    } finally {
      refresh.disabled = false;
    }
  }

  async function explain(row: number): Promise<void> {
    const mine = ++seq;
    inFlight?.abort();
    const abort = new AbortController();
    inFlight = abort;
    say(`Explaining row ${row}…`);
    result.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(`${endpoint}?row=${row}`, { cache: 'no-store', signal: abort.signal });
      if (!res.ok) throw new Error(await responseError(res));
      const e = (await res.json()) as Explanation;
      if (mine !== seq) return;
      shown = { row, version: modelVersion };
      render(e);
      say(`Row ${row} explained.`, 'info', summarySentence(e));
    } catch (err) {
      if (mine !== seq || (err as Error).name === 'AbortError') return;
      say(`Could not explain row ${row}: ${(err as Error).message}`, 'error');
    } finally {
      if (mine === seq) result.removeAttribute('aria-busy');
    }
  }

  function render(e: Explanation): void {
    const shown = bars(e);
    const chartRows = shown.map((b) => {
      const bar = h('div', { class: `explain-bar ${b.side}` });
      Object.assign(bar.style, {
        width: `${(b.share * 100).toFixed(1)}%`,
        minWidth: b.share > 0 ? '2px' : '0',
        height: '1.1em',
        background: COLOURS[b.side],
        marginLeft: b.side === 'away' ? 'auto' : '0',
      });
      const half = (side: Bar['side']) => {
        const cell = h('div', { class: `explain-half ${side}` }, b.side === side ? bar : null);
        Object.assign(cell.style, {
          display: 'flex',
          alignItems: 'center',
          borderLeft: side === 'toward' ? '2px solid currentColor' : '',
        });
        return cell;
      };
      const label = h(
        'div',
        { class: 'explain-label', title: `${b.name} = ${b.value}` },
        `${b.name} = ${b.value}`,
      );
      Object.assign(label.style, {
        overflow: 'hidden',
        textOverflow: 'ellipsis',
        whiteSpace: 'nowrap',
        paddingRight: '0.5rem',
      });
      const number = h('div', { class: 'explain-number' }, signed(b.attribution));
      Object.assign(number.style, { fontVariantNumeric: 'tabular-nums', textAlign: 'right' });
      const line = h('div', { class: 'explain-row' }, label, half('away'), half('toward'), number);
      Object.assign(line.style, {
        display: 'grid',
        gridTemplateColumns: 'minmax(6rem, 16rem) 1fr 1fr 4.5rem',
        alignItems: 'center',
        padding: '0.1rem 0',
      });
      return line;
    });
    const legend = h(
      'div',
      { class: 'explain-legend' },
      h('span', {}, `← away from ${e.target}`),
      h('span', {}, `toward ${e.target} →`),
    );
    Object.assign(legend.style, {
      display: 'grid',
      gridTemplateColumns: 'minmax(6rem, 16rem) 1fr 1fr 4.5rem',
      fontSize: '0.875rem',
    });
    (legend.firstChild as HTMLElement).style.gridColumn = '2';
    (legend.firstChild as HTMLElement).style.textAlign = 'right';
    (legend.firstChild as HTMLElement).style.paddingRight = '0.5rem';
    (legend.lastChild as HTMLElement).style.paddingLeft = '0.5rem';
    const chart = h('div', { class: 'explain-chart', 'aria-hidden': 'true' }, legend, ...chartRows);

    const caption = `Row ${e.row}: the ${shown.length} features with the largest attributions toward ${e.target}, of ${e.features.length} (gradient × input of the class score; positive pushes toward it, negative away).`;
    const table = h(
      'table',
      { class: 'visually-hidden' },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'feature'),
          h('th', { scope: 'col' }, 'value'),
          h('th', { scope: 'col' }, 'attribution'),
          h('th', { scope: 'col' }, 'direction'),
        ),
      ),
      h(
        'tbody',
        {},
        ...shown.map((b) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, b.name),
            h('td', {}, b.value),
            h('td', {}, signed(b.attribution)),
            h('td', {}, b.side === 'toward' ? `toward ${e.target}` : `away from ${e.target}`),
          ),
        ),
      ),
    );
    const mos = h(
      'p',
      { class: 'help' },
      `Predicted QoE (MOS) ${e.mos.predicted.toFixed(2)}, measured ${e.mos.actual.toFixed(2)}.`,
    );
    result.replaceChildren(
      h('p', { class: 'explain-summary' }, summarySentence(e)),
      h(
        'figure',
        { class: 'explain-figure' },
        h('figcaption', { 'aria-hidden': 'true' }, caption),
        chart,
        table,
      ),
      mos,
    );
  }

  select.addEventListener('change', () => {
    if (select.value === '') return;
    rowInput.value = select.value;
    rowInput.removeAttribute('aria-invalid');
    void explain(Number(select.value));
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const parsed = parseRow(rowInput.value, rows);
    if ('error' in parsed) {
      rowInput.setAttribute('aria-invalid', 'true');
      say(parsed.error, 'error');
      rowInput.focus();
      return;
    }
    rowInput.removeAttribute('aria-invalid');
    const match = [...select.options].find((o) => o.value === String(parsed.row));
    select.value = match ? match.value : '';
    void explain(parsed.row);
  });
  refresh.addEventListener('click', () => void loadSuggestions());
  void loadSuggestions();

  /** A note above an explanation made with an earlier model, with a button to explain the row again. */
  function markStale(now: number): void {
    if (!shown || shown.version === now) return;
    const row = shown.row;
    const again = h('button', { type: 'button' }, `Explain row ${row} again`);
    again.addEventListener('click', () => void explain(row));
    const made =
      shown.version === null ? 'an earlier global model' : `the global model after round ${shown.version}`;
    const note = h(
      'p',
      { class: 'explain-stale help', 'data-version': now },
      `Explained with ${made}; the server's model is now the one after round ${now}. `,
      again,
    );
    result.querySelector('.explain-stale')?.remove();
    result.prepend(note);
  }

  return {
    modelChanged(version: number): void {
      if (version === modelVersion) return;
      const first = modelVersion === null;
      modelVersion = version;
      if (first) {
        // The model the suggestions just loaded for (an explanation made before now has no version).
        return;
      }
      void loadSuggestions(true);
      markStale(version);
    },
  };
}
