/**
 * Small DOM helpers of the dashboard, `/bench` and `/simulate`: elements are built with text nodes only
 * (never innerHTML from server data).
 */

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: missing #${id}`);
  return e as T;
}

type Attrs = Record<string, string | number | boolean | null | undefined>;

/** `<tag attrs>children</tag>`; false, null and undefined attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== false && v !== null && v !== undefined) e.setAttribute(k, String(v));
  }
  return e;
}

/** Sets an element's text only when it changed (a live region then announces real changes only). */
export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/**
 * Calls `render` only when `key` differs from the last one rendered for `slot`: sections re-render when
 * their data changed, not every second (hover titles and focus survive).
 */
export function renderOnChange(slot: Element, key: string, render: () => void): void {
  const el = slot as Element & { __key?: string };
  if (el.__key === key) return;
  el.__key = key;
  render();
}

/** Offers `data` to the user as a file named `name` (through a temporary object URL and link). */
export function saveFile(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
