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
  /** Most clients `pqfed simulate` starts (each a worker thread with its own tfjs). */
  maxSimulatedClients: 256,
} as const;

/** Limits of the federated protocol (src/core/protocol.ts) and the aggregator. */
export const PROTOCOL = {
  /** Largest JSON header of a frame (bytes); the preprocessor in `welcome` is the biggest, a few KiB. */
  maxHeaderBytes: 256 * 1024,
  /** Bytes a frame may carry beyond its weights (header, padding, sealing and signature overhead). */
  frameOverheadBytes: 512 * 1024,
  maxNameChars: 64,
  /** Longest display name of a client (characters, after sanitizing; src/core/display-name.ts). */
  maxDisplayNameChars: 32,
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
  /** Clients listed one by one in the public `/api/status` (more are counted, not listed: status-lists.ts). */
  statusListedClients: 100,
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

/**
 * Limits that keep the aggregator up in front of strangers (issue 12): costly cryptography only for
 * connections that passed cheap checks, bounded memory per connection and in total, and backoff on guessed
 * secrets. An "address" is an IPv4 address or an IPv6 /64 (one host usually owns a whole /64).
 */
export const HOSTILE = {
  /** WebSocket upgrades an address may start per second, on average (token-bucket refill rate). A class
   * of 30 behind one NAT joining within a few seconds stays inside `upgradeBurst` plus this rate. */
  upgradesPerSecond: 20,
  /** Upgrades an address may start at once after being quiet (token-bucket size). */
  upgradeBurst: 60,
  /** Handshakes of one address whose cryptography is queued or running at once; more upgrades from that
   * address are refused (HTTP 503, Retry-After: 1; clients retry) until one ends. Room for a class behind
   * one NAT joining at the same moment; bounds how long one address makes the others wait (≈32 × 12 ms). */
  handshakesPerAddress: 32,
  /** Handshakes queued or running in the crypto pool at once, all addresses together. */
  handshakesInFlight: 128,
  /** Frames queued behind the one being handled on a connection whose channel is up (an update being
   * opened); one more and the connection is closed. Before the channel is up only the ClientHello may be
   * in flight, with the client's hello behind it. */
  maxQueuedFrames: 4,
  /** Largest frame accepted before the channel is up (bytes): a ClientHello is under 8 KiB (two ML-DSA-65
   * fields, a KEM ciphertext), a sealed hello under 2 KiB. */
  maxPreChannelFrameBytes: 16 * 1024,
  /** Bytes of received frames waiting to be handled, all connections together. Above it the server stops
   * reading from the sockets that add more (TCP backpressure) until the queue drains below it. */
  maxQueuedBytes: 128 * 1024 * 1024,
  /** Most tasks a waiting handshake may have queued in the crypto pool (updates have their own queue). */
  maxQueuedHandshakes: 256,
  /** Addresses whose counters (rate, guesses) are remembered; the oldest are forgotten beyond it. */
  maxTrackedAddresses: 16_384,
  /** Wrong secrets (join token, admin token) an address may send before backoff starts. */
  freeGuesses: 5,
  /** First lockout after `freeGuesses` wrong secrets (ms); it doubles with every further wrong one. */
  guessLockoutMs: 1_000,
  /** Longest lockout (ms): a class behind one NAT where someone mistypes waits at most this long. */
  maxGuessLockoutMs: 60_000,
  /** Wrong guesses are forgotten this long after the last one (ms). */
  guessMemoryMs: 15 * 60_000,
  /** Shortest join token (class code) `serve` accepts: 6 characters; fewer are guessed in minutes. */
  minJoinTokenChars: 6,
  /** Shortest `PQFED_ADMIN_TOKEN` accepted (the generated one is 32 characters, 192 bits). */
  minAdminTokenChars: 16,
  /** Longest text field from the network written to the log (characters); longer ones are cut. */
  maxLogFieldChars: 120,
  /** Resident memory of `pqfed serve` (bytes) that the hostile suite's 10-second handshake flood
   * (test/hostile-flood.test.ts) must stay under, model and data loaded: measured on the 2-core test
   * machine it idles near 220 MB and peaks at 350-490 MB during a 2,000-8,000 upgrades/s flood and the
   * round (garbage collection lags the refused sockets); before issue 12, four
   * connections took a server from 401 MB to 1,222 MB. */
  floodRssBytes: 768 * 1024 * 1024,
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
  /** Longest one explanation job may take, the thread's start included (ms); a thread past it is taken as
   * hung: it is stopped, its job fails, and the next job starts a fresh thread (a suggestion scan of 4,000
   * held-out rows takes about 1.5 s on the 2-core test machine). */
  jobTimeoutMs: 60_000,
} as const;

/** Limits of secure aggregation (src/core/secagg/): checked before a SecAgg+ message is decoded further. */
export const SECAGG = {
  /** Fewest members a secure round of the aggregator selects and goes on with (with 2, each member could
   * read the other's update from the sum). */
  minMembers: 3,
  /** Most members of one SecAgg+ round (the neighbour graph's n). */
  maxMembers: 10_000,
  /** Longest update vector (elements; the ring vector carries one more: the sample count). */
  maxVectorLength: LIMITS.maxModelParams,
  /** Longest client id in an advertisement (UTF-8 bytes; PROTOCOL.maxIdChars characters fit). */
  maxClientIdBytes: 4 * PROTOCOL.maxIdChars,
  /** Largest SecAgg+ message (bytes): a masked 4M-element vector is 16 MB; a complete graph's key list
   * for a few hundred members a few MB. */
  maxMessageBytes: 64 * 1024 * 1024,
  /** Elements of one masked input and of the recovered sum the server shows the class (secure-view.ts). */
  viewElements: 64,
} as const;

/** Largest frame (bytes) for a model of `modelSize` float32 parameters: the weights plus fixed overhead. */
export function maxFrameBytes(modelSize: number): number {
  return modelSize * 4 + PROTOCOL.frameOverheadBytes;
}

/** The self-signed certificate of `pqfed serve --https` (src/aggregator/tls.ts). */
export const TLS = {
  /** Validity of a new self-signed certificate (days). */
  selfSignedDays: 365,
  /** A kept certificate that expires within this many days is replaced at start. */
  renewBeforeDays: 7,
} as const;

/** The port of an HTTPS server that also redirects plain HTTP (src/aggregator/https-front.ts). */
export const HTTPS_FRONT = {
  /** A connection that sends no first byte (TLS or HTTP) within this time is closed (ms). */
  firstByteMs: 10_000,
} as const;

/** Limits of differential privacy (src/core/privacy/). */
export const PRIVACY = {
  /** Largest variance of one client's integer noise share: σ ≤ 2²⁰, so int32 (±2³¹, the ring SecAgg sums
   * in) holds ±2048 σ and a sample never overflows it in practice. */
  maxIntegerNoiseVariance: 2 ** 40,
  /** Largest accepted probability that a coordinate of a secure round's noisy sum wraps around the ring
   * (src/core/privacy/secure-noise.ts): a wrapped coordinate is garbage, not a privacy leak. */
  maxRingWrapProbability: 1e-9,
  /** Smallest δ accepted (below it the RDP conversion gains nothing a volunteer could tell apart). */
  minDelta: 1e-12,
  /** Largest ε accepted as a target (beyond it "private" means nothing). */
  maxTargetEpsilon: 1000,
} as const;
