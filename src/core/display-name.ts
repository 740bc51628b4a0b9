/**
 * The short, friendly name a tab shows for itself and the dashboard shows on the projector ("Blue Otter").
 * A student may edit it, so it is untrusted text: the same `sanitizeName` runs in the page before the name
 * is stored and sent, and in the aggregator before the name is kept, logged or shown. What survives is
 * letters and marks (any script), digits, spaces and a few punctuation marks, at most
 * PROTOCOL.maxDisplayNameChars characters; control and format characters (bidirectional overrides,
 * zero-width joiners) are dropped, runs of spaces become one. Pure; no DOM.
 */
import { PROTOCOL } from './limits.ts';

/** Punctuation a name may keep besides letters, digits and spaces. */
export const NAME_PUNCTUATION = "-_.'’&()!?,#+";

const KEEP = new RegExp(`[^\\p{L}\\p{M}\\p{N} ${NAME_PUNCTUATION.replace(/[-\\\]^]/g, '\\$&')}]`, 'gu');

/**
 * `raw` as a display name: NFC, unwanted characters removed, spaces collapsed and trimmed, cut to
 * `max` characters (code points, so a letter is never split). May be empty: see `displayName`.
 */
export function sanitizeName(raw: string, max: number = PROTOCOL.maxDisplayNameChars): string {
  const cleaned = raw
    .normalize('NFC')
    .replace(/[\s\u00a0]+/gu, ' ')
    .replace(KEEP, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  return Array.from(cleaned).slice(0, max).join('').trim();
}

/** The sanitized name, or `fallback` when nothing is left of it. */
export function displayName(raw: string, fallback: string): string {
  return sanitizeName(raw) || fallback;
}

const COLOURS: readonly string[] =
  'Amber Azure Blue Bronze Coral Crimson Cyan Golden Green Indigo Ivory Jade Lilac Lime Navy Olive Orange Pearl Pink Purple Red Ruby Rust Sand Silver Sky Teal Violet White Yellow'.split(
    ' ',
  );

const ANIMALS: readonly string[] =
  'Badger Bear Beaver Bison Crane Dolphin Eagle Falcon Fox Gecko Heron Hedgehog Ibex Jaguar Koala Lemur Lynx Marten Moose Narwhal Otter Owl Panda Puffin Raven Seal Swan Tiger Walrus Wolf Yak Zebra'.split(
    ' ',
  );

/** A random "Colour Animal" name (960 of them); `random` returns numbers in [0, 1). */
export function friendlyName(random: () => number = Math.random): string {
  const pick = <T>(list: readonly T[]) =>
    list[Math.min(list.length - 1, Math.floor(random() * list.length))]!;
  return `${pick(COLOURS)} ${pick(ANIMALS)}`;
}
