/**
 * The join link and its QR code (uqr encodes; the modules are drawn as one SVG path, sharp at any size on
 * a projector), and the server key's fingerprint in readable groups. The fingerprint travels in the
 * link's fragment, which browsers never send to a server; a student's tab pins it.
 */
import { encode } from 'uqr';
import { h, svg } from './dom.ts';
import { fingerprintGroups, shortAddress } from './format.ts';

/** The SVG path of a QR matrix (`true` = dark module), one unit square per module, rows merged into runs. */
export function qrPath(modules: readonly (readonly boolean[])[]): string {
  const parts: string[] = [];
  modules.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      parts.push(`M${start} ${y}h${x - start}v1h${start - x}z`);
    }
  });
  return parts.join('');
}

/** Renders the link, its QR code and the fingerprint into `container` (replacing what was there). */
export function renderJoin(container: HTMLElement, link: string, fingerprint: string | null): void {
  const qr = encode(link, { ecc: 'M', border: 2 });
  const size = qr.size;
  const code = svg('svg', {
    viewBox: `0 0 ${size} ${size}`,
    role: 'img',
    'aria-labelledby': 'join-qr-title',
    class: 'qr',
    'shape-rendering': 'crispEdges',
    'data-modules': size,
  });
  const title = svg('title', { id: 'join-qr-title' });
  title.textContent = `QR code of the join link ${link}`;
  // Dark modules on white whatever the page's colour scheme: scanners need the contrast.
  code.append(
    title,
    svg('rect', { width: size, height: size, fill: '#fff' }),
    svg('path', { d: qrPath(qr.data), fill: '#000' }),
  );
  const groups = fingerprintGroups(fingerprint);
  const fp = h('code', { class: 'fingerprint', id: 'server-fingerprint' });
  groups.forEach((g, i) => {
    if (i > 0) fp.append('-', h('wbr'));
    fp.append(g);
  });
  container.replaceChildren(
    h('div', { class: 'join-qr' }, code),
    h(
      'div',
      { class: 'join-text' },
      h('p', {}, 'Scan the code, or open this link on each device:'),
      h('p', {}, h('a', { href: link, id: 'join-link', class: 'join-link' }, link)),
      h(
        'p',
        {},
        'No camera? Type ',
        h('code', { id: 'join-short', class: 'join-short' }, shortAddress(link)),
        ' (the page checks the server key itself).',
      ),
      h('p', {}, 'Server key fingerprint (a joining tab checks the server against it):'),
      h('p', {}, groups.length ? fp : h('span', {}, 'not known yet')),
    ),
  );
  container.dataset.link = link;
}
