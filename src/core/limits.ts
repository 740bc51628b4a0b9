/**
 * Every size and count limit of PQFed, named in one place. Anything read from a file or the network is
 * checked against these before it is used.
 */
export const LIMITS = {
  /** Longest CSV record accepted (characters). Edge-IIoTset's quoted http.file_data stays far below. */
  csvMaxRecordChars: 1 << 20,
  /** Distinct raw values remembered per categorical column during import; more share one "rare" slot. */
  maxDictionary: 4096,
  /** Most values per categorical column given their own slot in the model; rarer values share "other". */
  maxCategories: 32,
  /** Largest model accepted anywhere (parameters). */
  maxModelParams: 4_000_000,
} as const;

/** Limits of the federated protocol (src/core/protocol.ts) and the aggregator. */
export const PROTOCOL = {
  /** Largest JSON header of a frame (bytes); the preprocessor in `welcome` is the biggest, a few KiB. */
  maxHeaderBytes: 256 * 1024,
  /** Bytes a frame may carry beyond its weights (header, padding, sealing and signature overhead). */
  frameOverheadBytes: 512 * 1024,
  maxNameChars: 64,
  maxIdChars: 64,
  maxTokenChars: 256,
  /** Largest binary field of a round's seal (a key or a signature; an ML-DSA-65 signature is 3,309 bytes). */
  maxSealFieldBytes: 4096,
  maxMessageChars: 1024,
  maxRounds: 1_000_000,
  maxSamples: 100_000_000,
  maxLocalEpochs: 100,
  maxBatchSize: 65_536,
  maxDeadlineMs: 24 * 3600 * 1000,
  maxModelParams: LIMITS.maxModelParams,
  /** Clients connected at once. */
  maxClients: 2_000,
  /** WebSocket connections from one IP address at once (a classroom behind one NAT stays well below). */
  maxConnectionsPerAddress: 256,
  /** A client that has not completed `hello` within this time is disconnected (ms). */
  helloTimeoutMs: 10_000,
  /** Interval of WebSocket pings; a client that misses one pong is dropped (ms). */
  heartbeatMs: 15_000,
  /** Bytes queued on one socket above which a broadcast waits for it to drain. */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** Frames a client may send per second before it is disconnected. */
  maxFramesPerSecond: 50,
  /** Samples an update may weigh when the server did not assign the client's shard (FedAvg weight cap). */
  maxSamplesPerClient: 100_000,
  /** Client key bindings kept (least recently seen dropped beyond it; aggregator/durable-store.ts). */
  maxClientKeys: 10_000,
  /** Rounds after which the binding of a key that never contributed an update is dropped. */
  oneOffKeyIdleRounds: 3,
  /** Rounds after which any binding whose key has not joined again is dropped. */
  clientKeyIdleRounds: 100,
  /** Most worker threads `pqfed serve --open-threads` may start to open sealed updates. */
  maxOpenThreads: 64,
} as const;

/** Limits of the public `GET /api/explain` (aggregator/explainer.ts, aggregator/http/explain.ts). */
export const EXPLAIN = {
  /** Explanations waiting for or running in the explain thread; more are refused with 503. */
  maxQueue: 16,
  /** Explained rows cached for the current model version (the suggestions are cached too). */
  cachedRows: 256,
  /** Requests per address and minute; more are refused with 429. */
  perAddressPerMinute: 120,
  /** Retry-After (seconds) of a 503 when the queue is full. */
  retryAfterSeconds: 2,
} as const;

/** Largest frame (bytes) for a model of `modelSize` float32 parameters: the weights plus fixed overhead. */
export function maxFrameBytes(modelSize: number): number {
  return modelSize * 4 + PROTOCOL.frameOverheadBytes;
}
