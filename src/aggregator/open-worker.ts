/**
 * A worker thread of the aggregator's crypto pool (open-pool.ts): runs one task at a time off the event
 * loop — opening a sealed update (`openUpdate`), or one of a handshake's two costly steps
 * (`makeServerHello`, `checkClientHello`). It gets its inputs transferred, answers with the result
 * (transferred) or the refusal's reason and message, and zeroes the secret keys it was given after every
 * task, whatever the outcome.
 */
import { parentPort } from 'node:worker_threads';
import { checkClientHello, makeServerHello } from '../crypto/channel.ts';
import { openUpdate } from '../crypto/envelope.ts';
import { isCryptoError } from '../crypto/errors.ts';
import type { OpenJob, OpenReply, OpenTask } from './open-pool.ts';

const port = parentPort!;

/**
 * A view that is its whole buffer (so the buffer can be transferred without sending more): `b` itself, or a
 * copy in a fresh buffer (never `b.slice()`, a view of a shared pool when `b` is a Node Buffer).
 */
function whole(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !Buffer.isBuffer(b)
    ? b
    : new Uint8Array(b);
}

async function perform(task: OpenTask): Promise<{ result: OpenReply['result']; transfer: ArrayBuffer[] }> {
  switch (task.kind) {
    case 'open': {
      const plain = whole(await openUpdate(task.envelope, task.expect));
      return { result: plain, transfer: [plain.buffer as ArrayBuffer] };
    }
    case 'server-hello': {
      const r = makeServerHello(task.input);
      const hello = whole(r.hello);
      const key = whole(r.ephemeralSecretKey);
      return {
        result: { hello, ephemeralSecretKey: key },
        transfer: [hello.buffer as ArrayBuffer, key.buffer as ArrayBuffer],
      };
    }
    case 'client-hello': {
      const r = checkClientHello(task.input);
      const peerIdentity = whole(r.peerIdentity);
      const sharedSecret = whole(r.sharedSecret);
      return {
        result: { peerIdentity, sharedSecret },
        transfer: [peerIdentity.buffer as ArrayBuffer, sharedSecret.buffer as ArrayBuffer],
      };
    }
  }
}

/** The secret keys a task carries, zeroed after it. */
function secrets(task: OpenTask): Uint8Array[] {
  switch (task.kind) {
    case 'open':
      return [task.expect.roundSecretKey];
    case 'server-hello':
      return [task.input.identity.secretKey];
    case 'client-hello':
      return [task.input.ephemeralSecretKey];
  }
}

// One task at a time, in the order they came: an `open` awaits WebCrypto, and a handshake sent behind it
// must not overtake it there (the pool hands updates over before handshakes; open-pool.ts).
let serial: Promise<void> = Promise.resolve();
port.on('message', (job: OpenJob) => {
  serial = serial.then(() => run(job));
});

async function run(job: OpenJob): Promise<void> {
  let reply: OpenReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const done = await perform(job.task);
    reply = { id: job.id, result: done.result } as OpenReply;
    transfer = done.transfer;
  } catch (e) {
    reply = {
      id: job.id,
      error: {
        reason: isCryptoError(e) ? e.reason : null,
        name: e instanceof Error ? e.name : 'Error',
        message: e instanceof Error ? e.message : String(e),
      },
    };
  } finally {
    for (const k of secrets(job.task)) k.fill(0);
  }
  port.postMessage(reply, transfer);
}
