/**
 * The public explanation endpoint: `GET /api/explain` → `{rows, suggestions}`; `?row=N` → one flow.
 * Cheap checks first: the method, the per-address rate (429 with Retry-After beyond
 * `EXPLAIN.perAddressPerMinute`), the row; then the explainer, whose bounded queue answers 503 with
 * Retry-After when full (aggregator/explainer.ts). Refusals are counted (`/api/status` `refusals`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EXPLAIN } from '../../core/limits.ts';
import type { Explanation, FlowSuggestion } from '../../model/explain.ts';
import { clientAddressOf } from '../client-address.ts';
import { ExplainBusyError } from '../explainer.ts';
import { RateLimiter } from './rate-limit.ts';
import { json } from './respond.ts';

/** Explanations of the global model on the held-out rows. */
export interface ExplainSource {
  /** Rows that can be explained: `row` is in [0, rows). */
  rows: number;
  explain(row: number): Promise<Explanation>;
  suggestions(): Promise<FlowSuggestion[]>;
}

export type ExplainHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** The `/api/explain` handler for `ex`; `count(reason)` tallies its refusals. */
export function explainRoute(
  ex: ExplainSource | undefined,
  count: (reason: string) => void = () => {},
  perMinute: number = EXPLAIN.perAddressPerMinute,
): ExplainHandler {
  const limiter = new RateLimiter(perMinute, 60_000);
  return async (req, res, url) => {
    if (req.method !== 'GET') return json(res, 405, { error: 'explain: use GET' });
    if (!ex) return json(res, 404, { error: 'explain: this server has no explainer' });
    const wait = limiter.take(clientAddressOf(req));
    if (wait > 0) {
      count('explain-rate-limited');
      res.setHeader('Retry-After', String(wait));
      return json(res, 429, {
        error: `explain: at most ${perMinute} requests a minute from one address; try again in ${wait} s`,
      });
    }
    const given = url.searchParams.getAll('row');
    let row: number | null = null;
    if (given.length > 0) {
      const raw = given[0]!;
      const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
      row = given.length === 1 && /^(0|[1-9][0-9]{0,9})$/.test(raw) ? Number(raw) : Number.NaN;
      if (!(row < ex.rows)) {
        const expected =
          ex.rows > 0
            ? `one integer in [0, ${ex.rows}) (a held-out row, 0 to ${ex.rows - 1})`
            : 'nothing: there are no held-out rows';
        const got = given.length > 1 ? `${given.length} row parameters` : shown;
        return json(res, 400, { error: `explain: row must be ${expected}, got ${got}` });
      }
    }
    try {
      if (row === null) return json(res, 200, { rows: ex.rows, suggestions: await ex.suggestions() });
      return json(res, 200, await ex.explain(row));
    } catch (e) {
      if (!(e instanceof ExplainBusyError)) throw e;
      count('explain-busy');
      res.setHeader('Retry-After', String(e.retryAfterSeconds));
      return json(res, 503, { error: e.message });
    }
  };
}
