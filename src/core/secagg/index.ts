/**
 * Secure aggregation, SecAgg+ (Bell et al., CCS 2020) with ML-KEM-768 and ML-DSA-65: what a round core or a
 * transport needs. See docs/secure-aggregation.md for the protocol, its parameters and its threat model.
 * @module
 */
export { type ClientPhase, type NoiseRequest, SecAggClient, type SecAggClientOptions } from './client.ts';
export { isSecAggError, SECAGG_REFUSALS, SecAggError, type SecAggRefusal } from './errors.ts';
export { DEFAULT_GRAPH_PARAMS, type Degree, type GraphParams, secAggDegree } from './graph.ts';
export {
  type ClientMessage,
  decodeMessage,
  encodeMessage,
  SECAGG_MESSAGE_TYPES,
  type SecAggMessage,
  type SecAggMessageType,
  type ServerMessage,
} from './messages.ts';
export type { RoundContext } from './pairwise.ts';
export { meanErrorBound, type RingParams, ringScale } from './ring.ts';
export {
  type Outgoing,
  type SecAggResult,
  SecAggServer,
  type SecAggServerOptions,
  type ServerPhase,
} from './server.ts';
export { SECAGG_SUPPORT, type SecAggSupport, secAggRefusal } from './strategies.ts';
