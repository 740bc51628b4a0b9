/**
 * A worker thread of the update-opening pool (open-pool.ts): opens one sealed update at a time with
 * `openUpdate`, off the aggregator's event loop. It gets the envelope and its own copy of the round's secret
 * key (both transferred), answers with the plaintext (transferred) or the refusal's reason and message, and
 * zeroes its copy of the key after every update, whatever the outcome.
 */
import { parentPort } from 'node:worker_threads';
import { openUpdate } from '../crypto/envelope.ts';
import { isCryptoError } from '../crypto/errors.ts';
import type { OpenJob, OpenReply } from './open-pool.ts';

const port = parentPort!;

port.on('message', async (job: OpenJob) => {
  const key = job.expect.roundSecretKey;
  let reply: OpenReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const plain = await openUpdate(new Uint8Array(job.envelope), job.expect);
    const own =
      plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength ? plain : plain.slice();
    reply = { id: job.id, plain: own.buffer as ArrayBuffer };
    transfer = [own.buffer as ArrayBuffer];
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
    key.fill(0);
  }
  port.postMessage(reply, transfer);
});
