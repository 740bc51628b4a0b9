/** Progress lines on stderr (stdout is reserved for the result), at most one per interval. */
export function throttled(intervalMs = 1000): (line: () => string, force?: boolean) => void {
  let last = 0;
  return (line, force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    process.stderr.write(`${line()}\n`);
  };
}
