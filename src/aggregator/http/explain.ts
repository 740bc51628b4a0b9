/** The public explanation endpoint: `GET /api/explain` → `{rows, suggestions}`; `?row=N` → one flow. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Explanation, FlowSuggestion } from '../../model/explain.ts';
import { json } from './respond.ts';

/** Explanations of the global model on the held-out rows. */
export interface ExplainSource {
  /** Rows that can be explained: `row` is in [0, rows). */
  rows: number;
  explain(row: number): Promise<Explanation>;
  suggestions(): Promise<FlowSuggestion[]>;
}

/** `GET /api/explain` → `{rows, suggestions}`; `GET /api/explain?row=N` → one flow's explanation. */
export async function explainRoute(
  ex: ExplainSource | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (req.method !== 'GET') return json(res, 405, { error: 'explain: use GET' });
  if (!ex) return json(res, 404, { error: 'explain: this server has no explainer' });
  const given = url.searchParams.getAll('row');
  if (given.length === 0) return json(res, 200, { rows: ex.rows, suggestions: await ex.suggestions() });
  const raw = given[0]!;
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  const row = given.length === 1 && /^(0|[1-9][0-9]{0,9})$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(row < ex.rows)) {
    const expected =
      ex.rows > 0
        ? `one integer in [0, ${ex.rows}) (a held-out row, 0 to ${ex.rows - 1})`
        : 'nothing: there are no held-out rows';
    const got = given.length > 1 ? `${given.length} row parameters` : shown;
    return json(res, 400, { error: `explain: row must be ${expected}, got ${got}` });
  }
  return json(res, 200, await ex.explain(row));
}
