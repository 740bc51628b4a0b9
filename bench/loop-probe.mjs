/**
 * Preloaded into the `pqfed serve` process by bench/load.ts (`node --import ./bench/loop-probe.mjs`): the
 * server's own event-loop delay, measured inside it by `perf_hooks.monitorEventLoopDelay` (10 ms
 * resolution), with no change to the server. The bench writes a phase name and a newline on file
 * descriptor 3 (a pipe it opened); the probe answers one JSON line there — that phase's delay p50, p99,
 * max and mean in ms, and the server's heap and RSS — and starts a fresh histogram. The answer is itself
 * written by the server's event loop, so a stalled loop delays it but cannot hide the stall.
 * Only on the main thread (worker threads inherit the preload) and only when fd 3 is a pipe.
 */
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

let usable = false;
try {
  const fd3 = isMainThread ? fstatSync(3) : null;
  usable = fd3 !== null && (fd3.isSocket() || fd3.isFIFO());
} catch {
  usable = false;
}
if (usable) {
  const hist = monitorEventLoopDelay({ resolution: 10 });
  hist.enable();
  const io = new Socket({ fd: 3, readable: true, writable: true });
  io.unref();
  io.on('error', () => {});
  let buffered = '';
  io.on('data', (d) => {
    buffered += d.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const phase = buffered.slice(0, i).slice(0, 64);
      buffered = buffered.slice(i + 1);
      const ms = (ns) => Math.round(ns / 1e4) / 100;
      const mem = process.memoryUsage();
      io.write(
        `${JSON.stringify({
          phase,
          samples: hist.count,
          p50: ms(hist.percentile(50)),
          p99: ms(hist.percentile(99)),
          max: ms(hist.max),
          mean: ms(hist.mean),
          heapUsedMiB: Math.round(mem.heapUsed / 1048576),
          externalMiB: Math.round((mem.external + mem.arrayBuffers) / 1048576),
          rssMiB: Math.round(mem.rss / 1048576),
        })}\n`,
      );
      hist.reset();
    }
  });
}
