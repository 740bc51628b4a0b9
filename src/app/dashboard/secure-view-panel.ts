/**
 * The "What the server sees" panel of the dashboard and of `/simulate?secagg=1` (one implementation): a
 * toggle between one client's masked input and the sum the server recovers (two radio buttons, so it works
 * from the keyboard: Tab to the group, arrow keys to switch), their first elements as bars (plain SVG around
 * a zero line), the scale and correlation in words (secure-view.ts), and the ε spent so far when
 * differential privacy is on. The container's `data-mode` and `data-round` say what it shows.
 */
import { h, setText, svg } from './dom.ts';
import {
  bars,
  MODE_LABELS,
  modeSentences,
  modeSeries,
  SECURE_VIEW_MODES,
  type SecureViewJson,
  type SecureViewMode,
  shortValue,
} from './secure-view.ts';
import './secure-view.css';

const WIDTH = 640;
const HEIGHT = 160;

export interface SecureViewPanel {
  /** Shows `view` (null: none yet) and the privacy line (null: differential privacy is off). */
  update(view: SecureViewJson | null, privacy: string | null): void;
}

/** Builds the panel inside `container`, whose id prefixes the ids of its parts (`<id>-mode-sum`, …). */
export function mountSecureView(container: HTMLElement): SecureViewPanel {
  const id = container.id || 'secagg-view';
  let mode: SecureViewMode = 'masked';
  let current: SecureViewJson | null = null;
  const captionId = `${id}-caption`;
  const radios = SECURE_VIEW_MODES.map((m) =>
    h('input', {
      type: 'radio',
      name: `${id}-mode`,
      id: `${id}-mode-${m}`,
      value: m,
      checked: m === mode,
    }),
  );
  const toggle = h(
    'fieldset',
    { class: 'secagg-toggle' },
    h('legend', {}, 'Show'),
    ...radios.map((r, i) => h('label', { for: r.id }, r, ` ${MODE_LABELS[SECURE_VIEW_MODES[i]!]}`)),
  );
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-labelledby': captionId,
    class: 'secagg-bars',
  });
  const top = h('span', {}, '');
  const bottom = h('span', {}, '');
  const axis = h(
    'p',
    { class: 'secagg-axis', 'aria-hidden': 'true' },
    top,
    h('span', {}, 'middle line: 0'),
    bottom,
  );
  const caption = h('figcaption', { id: captionId });
  const figure = h('figure', { class: 'secagg-figure' }, chart, axis, caption);
  const empty = h('p', { class: 'secagg-empty' }, 'No secure round has recovered its sum yet.');
  const privacy = h('p', { class: 'secagg-privacy' });
  const intro = h(
    'p',
    { class: 'help' },
    'Each client adds random masks to its update before sending it; the masks of all clients cancel only in ' +
      'their sum. This is the server’s own view of the last round: nothing here is hidden from the server, ' +
      'and no single client’s update is in it.',
  );
  container.replaceChildren(intro, toggle, empty, figure, privacy);

  const draw = () => {
    container.dataset.mode = mode;
    if (!current) {
      empty.hidden = false;
      figure.hidden = true;
      container.dataset.round = '';
      return;
    }
    empty.hidden = true;
    figure.hidden = false;
    container.dataset.round = String(current.round);
    const { values, extent } = modeSeries(current, mode);
    chart.dataset.mode = mode;
    chart.replaceChildren(
      svg('line', { x1: 0, x2: WIDTH, y1: HEIGHT / 2, y2: HEIGHT / 2, class: 'secagg-zero' }),
      ...bars(values, extent, WIDTH, HEIGHT).map((b) =>
        svg('rect', { x: b.x, y: b.y, width: b.width, height: Math.max(b.height, 0.5) }),
      ),
    );
    chart.dataset.bars = String(values.length);
    setText(top, `top: +${shortValue(extent)}`);
    setText(bottom, `bottom: −${shortValue(extent)}`);
    caption.replaceChildren(...modeSentences(current, mode).map((s) => h('span', {}, s, ' ')));
  };

  for (const r of radios) {
    r.addEventListener('change', () => {
      if (!r.checked) return;
      mode = r.value as SecureViewMode;
      draw();
    });
  }

  return {
    update(view, privacyText) {
      current = view;
      privacy.hidden = privacyText === null;
      setText(privacy, privacyText === null ? '' : `Differential privacy, spent so far: ${privacyText}`);
      draw();
    },
  };
}
