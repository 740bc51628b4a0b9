import { describe, expect, it } from 'vitest';
import { PortPeer, PortSocket, portConnector, StoppedError } from './port-socket.ts';

const ports = () => {
  const { port1, port2 } = new MessageChannel();
  return { server: new PortPeer(port1 as never), port2 };
};

describe('the in-tab network', () => {
  it('carries frames in order both ways, counts bytes and ends with a close', async () => {
    const { server, port2 } = ports();
    server.send(Uint8Array.of(1, 2, 3)); // before the client socket even opened
    const socket = new PortSocket(port2 as never);
    const got: number[][] = [];
    const closed = new Promise<{ code: number; reason: string }>((ok) => {
      socket.onclose = ok;
    });
    socket.onmessage = (ev) => got.push(Array.from(new Uint8Array(ev.data as ArrayBuffer)));
    await new Promise<void>((ok) => {
      socket.onopen = () => ok();
    });
    expect(socket.readyState).toBe(1);
    const sub = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    socket.send(sub);
    socket.send(Uint8Array.of(5));
    expect(Array.from((await server.next())!)).toEqual([8, 7]);
    expect(Array.from((await server.next())!)).toEqual([5]);
    expect(server.bytesIn).toBe(3);
    expect(server.bytesOut).toBe(3);
    await new Promise((ok) => setTimeout(ok, 10));
    expect(got).toEqual([[1, 2, 3]]);
    server.close(1000, 'finished');
    expect(await closed).toEqual({ code: 1000, reason: 'finished' });
    expect(socket.readyState).toBe(3);
  });

  it('answers null once the client closed, and StoppedError when stopped', async () => {
    const { server, port2 } = ports();
    const socket = new PortSocket(port2 as never);
    await new Promise((ok) => setTimeout(ok, 5));
    const stop = new AbortController();
    const waiting = server.next(stop.signal);
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(StoppedError);
    socket.close(1000, 'bye');
    expect(await server.next()).toBeNull();
    expect(server.closed).toEqual({ code: 1000, reason: 'bye' });
  });

  it('gives a client one connection; a reconnect gets a closed socket and stops it', async () => {
    const { port2 } = ports();
    let stopped = 0;
    const connect = portConnector(port2 as never, () => stopped++);
    expect(connect()).toBeInstanceOf(PortSocket);
    const again = connect();
    expect(stopped).toBe(1);
    const code = await new Promise<number>((ok) => {
      again.onclose = (ev) => ok(ev.code);
    });
    expect(code).toBe(1006);
  });
});
