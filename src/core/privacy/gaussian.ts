/**
 * The central Gaussian mechanism of DP-FedAvg (McMahan, Ramage, Talwar & Zhang 2018): the server adds
 * N(0, (z·C)²) to every coordinate of the sum of clipped updates. Randomness from a RandomSource (the
 * platform CSPRNG in production; random-source.ts).
 */
import { Draws, type RandomSource } from './random-source.ts';
import { PrivacyError } from './rdp.ts';

/** Adds independent N(0, std²) to every entry of `target`, in place. */
export function addGaussianNoise(target: Float64Array, std: number, source: RandomSource | Draws): void {
  if (!(std >= 0 && Number.isFinite(std))) {
    throw new PrivacyError(`Gaussian noise: the standard deviation must be a finite number ≥ 0, got ${std}`);
  }
  if (std === 0) return;
  const d = source instanceof Draws ? source : new Draws(source);
  for (let i = 0; i < target.length; i++) target[i] = target[i]! + std * d.normal();
}
