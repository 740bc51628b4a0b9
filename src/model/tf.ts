/**
 * The one place the model code imports tfjs from, so every module (and every backend package, which imports
 * tfjs-core itself) shares one engine. The union package registers gradients and chained ops. Backends are
 * chosen in backend.ts.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
