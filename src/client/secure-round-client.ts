/**
 * A federated client's part of one secure round (SecAgg+, docs/secure-aggregation.md), for the one
 * `FederatedClient` of tabs, `pqfed simulate` workers and the in-tab federation: its `SecAggClient` answers
 * the server's `secagg` frames (bytes in, bytes out), and once local training ends, the update Δ and its
 * sample count become the masked input (`setInput`). The sample count is capped at the round's weight cap
 * W (the config's `ring.maxWeight`): the server cannot cap a weight it never sees.
 *
 * Distributed DP hook: with `noiseVariance` (ring units², from the round frame's `secagg`), every masked
 * input carries this client's integer Skellam noise share (src/core/privacy/secure-noise.ts, scaled to the
 * round's ring when the frame says at which scale it was planned, `noiseScale`); the weight element stays
 * exact. Refused or stale frames are logged and change nothing; a refusal that shows the server
 * misbehaving aborts the SecAggClient for good (it then answers nothing, never the unmasking phase).
 */

import { cryptoRandomSource, type RandomSource } from '../core/privacy/random-source.ts';
import { secureNoiseHook } from '../core/privacy/secure-noise.ts';
import { SecAggClient } from '../core/secagg/client.ts';
import { decodeMessage, encodeMessage } from '../core/secagg/messages.ts';
import { fromHex } from '../crypto/bytes.ts';
import type { Identity } from '../crypto/identity.ts';

export interface SecureRoundClientOptions {
  clientId: string;
  identity: Identity;
  /** The session id (hex, from `welcome`) and round number the messages must carry. */
  session: string;
  round: number;
  /** Variance of this client's integer noise share (ring units²); undefined: no noise. */
  noiseVariance?: number | undefined;
  /** The ring scale the variance was planned at (rescaled to the round's own: secure-noise.ts); undefined: as is. */
  noiseScale?: number | undefined;
  /** Sends one SecAgg message to the server (as a `secagg` frame). */
  send(payload: Uint8Array): Promise<void>;
  log(line: string): void;
  /** The noise's randomness (default: the platform CSPRNG). */
  random?: RandomSource;
}

/** The wire byte of the `config` message (its position in SECAGG_MESSAGE_TYPES + 1). */
const CONFIG_TYPE_BYTE = 1;

export class SecureRoundClient {
  readonly round: number;
  private readonly sa: SecAggClient;
  private readonly options: SecureRoundClientOptions;
  private maxWeight: number | null = null;
  private pending: { update: Float32Array; numSamples: number } | null = null;
  private inputGiven = false;
  private stopped = false;

  constructor(options: SecureRoundClientOptions) {
    this.options = options;
    this.round = options.round;
    const variance = options.noiseVariance;
    const source = options.random ?? cryptoRandomSource;
    this.sa = new SecAggClient({
      clientId: options.clientId,
      identity: options.identity,
      context: { session: fromHex(options.session), round: options.round },
      ...(variance !== undefined &&
        variance > 0 && {
          // The weight element Σ nᵢ (the last) stays exact; the variance follows the round's scale.
          noise: secureNoiseHook({ variance, scale: options.noiseScale }, source),
        }),
    });
  }

  /** The SecAgg client's phase (`aborted` after a refusal that shows misbehaviour). */
  get phase() {
    return this.sa.phase;
  }

  /** One `secagg` frame's payload from the server: answered, or logged and dropped. */
  async receive(payload: Uint8Array): Promise<void> {
    if (this.stopped) return;
    let out: Uint8Array[];
    try {
      out = this.sa.handleBytes(payload);
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? (e as Error).name;
      this.options.log(
        `secure round ${this.round}: refused a server message (${reason}): ${(e as Error).message}`,
      );
      return;
    }
    if (this.maxWeight === null && payload[3] === CONFIG_TYPE_BYTE) {
      const config = decodeMessage(payload);
      if (config.type === 'config') this.maxWeight = config.ring.maxWeight;
    }
    for (const bytes of out) await this.options.send(bytes);
    await this.flushInput();
  }

  /** The trained update and its sample count; sent masked as soon as the round is ready for it. */
  async setInput(update: Float32Array, numSamples: number): Promise<void> {
    if (this.inputGiven || this.pending) return;
    this.pending = { update, numSamples };
    await this.flushInput();
  }

  /** Stops answering (a newer round began, or the connection is going). */
  close(): void {
    this.stopped = true;
  }

  /** True once closed: it answers nothing more, and its round needs no training any more. */
  get closed(): boolean {
    return this.stopped;
  }

  private async flushInput(): Promise<void> {
    if (this.stopped || !this.pending || this.maxWeight === null) return;
    const { update, numSamples } = this.pending;
    this.pending = null;
    this.inputGiven = true;
    let out: Uint8Array[];
    try {
      const weight = Math.max(1, Math.min(Math.floor(numSamples), this.maxWeight));
      out = this.sa.setInput(update, weight).map(encodeMessage);
    } catch (e) {
      this.options.log(`secure round ${this.round}: the input was refused: ${(e as Error).message}`);
      return;
    }
    for (const bytes of out) await this.options.send(bytes);
  }
}
