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
