/**
 * A log that writes at most one line per kind of event a second, so a flood of refusals (thousands a
 * second) cannot flood the operator's terminal or disk; the lines it held back are counted in the next.
 */
export function throttledLog(
  log: (line: string) => void,
  intervalMs = 1000,
): (kind: string, line: string) => void {
  const last = new Map<string, { at: number; held: number }>();
  return (kind, line) => {
    const t = Date.now();
    const k = last.get(kind);
    if (k && t - k.at < intervalMs) {
      k.held++;
      return;
    }
    log(k?.held ? `${line} (and ${k.held} more like it)` : line);
    last.set(kind, { at: t, held: 0 });
  };
}
