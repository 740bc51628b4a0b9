/**
 * The client-level differential privacy flags of `pqfed serve` and `pqfed simulate` (docs/differential-
 * privacy.md), one definition for both: they fill the experiment's `privacy` key, key by key over the file's.
 * Each value is checked by the experiment schema's own field, so a flag and a file accept the same values.
 */
import type { Command } from 'commander';
import { type ExperimentFile, experimentFileSchema } from '../aggregator/config.ts';
import { schemaNumber } from './options.ts';

const P = experimentFileSchema.shape.privacy.unwrap().unwrap().shape;

export interface PrivacyFlags {
  dpClip?: number;
  dpNoise?: number;
  targetEpsilon?: number;
  delta?: number;
  dpClipQuantile?: number;
  secureAggregation?: boolean;
}

/** Adds --secure-aggregation, --dp-clip, --dp-noise, --target-epsilon, --delta and --dp-clip-quantile to `cmd`. */
export function withPrivacyFlags(cmd: Command): Command {
  return cmd
    .option(
      '--secure-aggregation',
      'secure aggregation (SecAgg+, post-quantum): the server learns only the sum of the updates; ' +
        'refuses median, trimmed-mean, krum, multi-krum (secureAggregation; docs/secure-aggregation.md)',
    )
    .option(
      '--dp-clip <C>',
      'client-level DP: clip every update to L2 norm C (privacy.clipNorm)',
      schemaNumber('dp-clip', P.clipNorm),
    )
    .option(
      '--dp-noise <Z>',
      'DP: the server adds Gaussian noise of std Z·C to the sum of updates (privacy.noiseMultiplier)',
      schemaNumber('dp-noise', P.noiseMultiplier),
    )
    .option(
      '--target-epsilon <EPS>',
      'DP: stop before ε would exceed EPS; without --dp-noise, calibrate the noise to it (privacy.targetEpsilon)',
      schemaNumber('target-epsilon', P.targetEpsilon),
    )
    .option(
      '--delta <D>',
      'DP: δ of the (ε, δ) guarantee (default 1e-5; privacy.delta)',
      schemaNumber('delta', P.delta),
    )
    .option(
      '--dp-clip-quantile <Q>',
      'DP: adaptive clipping, C follows quantile Q of the update norms (privacy.clipQuantile)',
      schemaNumber('dp-clip-quantile', P.clipQuantile),
    );
}

/** The flags given, as an experiment layer (`{}` when none). */
export function privacyLayer(o: PrivacyFlags): ExperimentFile {
  const p = {
    ...(o.dpClip !== undefined && { clipNorm: o.dpClip }),
    ...(o.dpNoise !== undefined && { noiseMultiplier: o.dpNoise }),
    ...(o.targetEpsilon !== undefined && { targetEpsilon: o.targetEpsilon }),
    ...(o.delta !== undefined && { delta: o.delta }),
    ...(o.dpClipQuantile !== undefined && { clipQuantile: o.dpClipQuantile }),
  };
  return {
    ...(Object.keys(p).length && { privacy: p }),
    ...(o.secureAggregation && { secureAggregation: true }),
  };
}
