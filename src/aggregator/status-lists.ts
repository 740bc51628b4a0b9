/**
 * The per-client lists of `/api/status`, bounded. Every dashboard polls the status once a second, so its
 * size must not grow with the class: with 1,000 clients and their per-round lists in full it was ≈ 570 B a
 * client after three rounds (bench/load.ts) and grew by ≈ 150 B a client with every round.
 *
 * With a limit L (PROTOCOL.statusListedClients for the public endpoint): when more than L clients are
 * connected, `clientList` holds the first L by id (the "listed" clients) and `clientCounts` counts them all
 * by state; any per-client list longer than L (the open round's selected / submitted / failed, and each
 * past round's selected / contributed / failed / clientMetrics) keeps only its listed clients, and counts
 * (`selectedCount`, `submittedCount`, `failedCount`) say how many there were. A list of at most L entries is
 * kept whole, so with L clients or fewer the status is what it always was. The admin export is never
 * bounded.
 */
import type { RoundRecord } from './checkpoint.ts';

/** The clients to list one by one: all of them when there are at most `limit`, else the first `limit` by id. */
export function listedClients<T extends { id: string }>(all: readonly T[], limit: number): T[] {
  if (all.length <= limit) return [...all];
  return [...all].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
}

/** `list` itself when it has at most `limit` entries, else only the entries of listed clients. */
export function boundList<T>(
  list: Iterable<T>,
  idOf: (t: T) => string,
  listed: ReadonlySet<string>,
  limit: number,
): T[] {
  const all = [...list];
  return all.length <= limit ? all : all.filter((t) => listed.has(idOf(t)));
}

const self = (id: string) => id;

/** A history row as the status shows it (a plain object type, so it reads as a `Record`). */
export type StatusRound = Omit<RoundRecord, never> & { selectedCount: number; failedCount: number };

/** A history row for the status: its per-client lists bounded, with how many were selected and failed. */
export function boundRound(h: RoundRecord, listed: ReadonlySet<string>, limit: number): StatusRound {
  return {
    ...h,
    selected: boundList(h.selected, self, listed, limit),
    contributed: boundList(h.contributed, self, listed, limit),
    failed: boundList(h.failed, (f) => f.clientId, listed, limit),
    clientMetrics: boundList(h.clientMetrics, (m) => m.clientId, listed, limit),
    selectedCount: h.selected.length,
    failedCount: h.failed.length,
  };
}
