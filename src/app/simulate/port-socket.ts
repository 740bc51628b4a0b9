/**
 * The in-tab federation's "network": one MessageChannel per virtual client, between the page (the
 * aggregator's side) and the worker that hosts the client. Frames cross it as the bytes a WebSocket would
 * carry (the handshake's two messages, then frames sealed by the session channel), so the client side is
 * the real `FederatedClient` on a `WebSocketLike` (`PortSocket`), and the server side reads them in order
 * (`PortPeer`). Works in browsers, workers and Node (which has MessageChannel too). No DOM.
 */
import type { WebSocketLike } from '../../client/client.ts';

/** What travels on a port. */
export type PortMessage =
  | { kind: 'frame'; bytes: ArrayBuffer }
  | { kind: 'close'; code: number; reason: string };

/** The part of MessagePort used here (the DOM's and Node's both have it). */
export type PortLike = Pick<MessagePort, 'postMessage' | 'onmessage' | 'close'>;

/** A private copy of `data` as an ArrayBuffer that can be transferred. */
function ownBuffer(data: Uint8Array): ArrayBuffer {
  return data.slice().buffer as ArrayBuffer;
}

function isPortMessage(x: unknown): x is PortMessage {
  const m = x as PortMessage | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    ((m.kind === 'frame' && m.bytes instanceof ArrayBuffer) ||
      (m.kind === 'close' && typeof m.code === 'number' && typeof m.reason === 'string'))
  );
}

/** A WebSocket-shaped end of a MessagePort, for `FederatedClient`: open at once, binary frames only. */
export class PortSocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  /** Messages that arrived before the socket opened, delivered right after `onopen`. */
  private early: PortMessage[] | null = [];

  constructor(private readonly port: PortLike) {
    port.onmessage = (ev) => {
      if (!isPortMessage(ev.data)) return;
      if (this.early) this.early.push(ev.data);
      else this.receive(ev.data);
    };
    // The client sets its handlers right after the factory returns: open on the next task.
    setTimeout(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
      const early = this.early ?? [];
      this.early = null;
      for (const m of early) this.receive(m);
    }, 0);
  }

  private receive(m: PortMessage): void {
    if (this.readyState !== 1) return;
    if (m.kind === 'frame') this.onmessage?.({ data: m.bytes });
    else this.ended(m.code, m.reason);
  }

  send(data: Uint8Array): void {
    if (this.readyState !== 1) return;
    const bytes = ownBuffer(data);
    this.port.postMessage({ kind: 'frame', bytes } satisfies PortMessage, [bytes]);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.port.postMessage({ kind: 'close', code, reason } satisfies PortMessage);
    this.ended(code, reason);
  }

  private ended(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.port.onmessage = null;
    this.port.close();
    this.onclose?.({ code, reason });
  }
}

/** Thrown by `PortPeer.next` when the run was stopped. */
export class StoppedError extends Error {
  override name = 'StoppedError';
  constructor() {
    super('stopped');
  }
}

/** The aggregator's end of a client's port: send frames, await the next one in order (null once closed). */
export class PortPeer {
  private readonly queue: Uint8Array[] = [];
  private waiter: ((v: Uint8Array | null) => void) | null = null;
  closed: { code: number; reason: string } | null = null;
  /** Bytes sent and received on this port (what a socket would have carried). */
  bytesOut = 0;
  bytesIn = 0;

  constructor(private readonly port: PortLike) {
    port.onmessage = (ev) => {
      if (!isPortMessage(ev.data) || this.closed) return;
      if (ev.data.kind === 'frame') {
        const b = new Uint8Array(ev.data.bytes);
        this.bytesIn += b.byteLength;
        this.push(b);
      } else this.end(ev.data.code, ev.data.reason);
    };
  }

  send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.bytesOut += bytes.byteLength;
    const buffer = ownBuffer(bytes);
    this.port.postMessage({ kind: 'frame', bytes: buffer } satisfies PortMessage, [buffer]);
  }

  /** The next frame from the client; null when it closed; throws StoppedError when `signal` fires first. */
  next(signal?: AbortSignal): Promise<Uint8Array | null> {
    if (signal?.aborted) return Promise.reject(new StoppedError());
    const b = this.queue.shift();
    if (b) return Promise.resolve(b);
    if (this.closed) return Promise.resolve(null);
    return new Promise((ok, fail) => {
      const onAbort = () => {
        this.waiter = null;
        fail(new StoppedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = (v) => {
        signal?.removeEventListener('abort', onAbort);
        ok(v);
      };
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.port.postMessage({ kind: 'close', code, reason } satisfies PortMessage);
    this.end(code, reason);
  }

  private push(b: Uint8Array): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(b);
    } else this.queue.push(b);
  }

  private end(code: number, reason: string): void {
    this.closed ??= { code, reason };
    this.port.onmessage = null;
    this.port.close();
    const w = this.waiter;
    this.waiter = null;
    w?.(null);
  }
}

/** A socket that closes at once (a reconnect after the port is gone: the in-tab network has no second try). */
class ClosedSocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = 3;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor() {
    setTimeout(() => this.onclose?.({ code: 1006, reason: 'the in-tab port is closed' }), 0);
  }

  send(): void {}
  close(): void {}
}

/**
 * A `FederatedClient` connection factory over one port: the first connection is the port; a reconnect
 * (after the aggregator closed it) calls `onReconnect` (which should stop the client) and gets a closed socket.
 */
export function portConnector(port: PortLike, onReconnect: () => void): () => WebSocketLike {
  let used = false;
  return () => {
    if (used) {
      onReconnect();
      return new ClosedSocket();
    }
    used = true;
    return new PortSocket(port);
  };
}
