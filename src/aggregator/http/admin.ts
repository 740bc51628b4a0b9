/**
 * The admin API (`/api/admin/<action>`, `Authorization: Bearer <admin token>`): start, pause, stop, change
 * the rounds, clients per round or strategy, start a new class (`new-session`: the finished session's
 * history is archived, the next starts at round 0 with the same server key), export the history (JSON or
 * CSV) and the global model, list the connected clients' network addresses (`clients`). Refusals say in
 * plain words what is wrong and what to do; the dashboard shows them as they come.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { ServerChannels } from '../../core/channel.ts';
import { logField } from '../../core/log-field.ts';
import { csvNumber } from '../../core/rounding.ts';
import { addressKey } from '../address-key.ts';
import { ROUND_FIELDS } from '../checkpoint.ts';
import { clientAddressOf } from '../client-address.ts';
import { ConfigError, parseConfig } from '../config.ts';
import { type Coordinator, SessionBusyError, sameSecret } from '../coordinator.ts';
import type { GuessBackoff } from '../guess-backoff.ts';
import { json, readBody } from './respond.ts';

export interface AdminOptions {
  coordinator: Coordinator;
  channels: ServerChannels;
  adminToken: string;
  /** The global model as tfjs artifacts (src/model/exported.ts), for `GET /api/admin/model`. */
  exportModel?: () => unknown;
  /** Wrong admin tokens per address: after a few, the address is locked out for a while (429). */
  guesses?: GuessBackoff;
  log: (line: string) => void;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, action: string) => Promise<void>;

export function adminRoutes(opts: AdminOptions): AdminHandler {
  const { coordinator, channels, log } = opts;
  return async function admin(req, res, action) {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const key = addressKey(clientAddressOf(req));
    const wait = opts.guesses?.lockedFor(key) ?? 0;
    if (wait > 0) {
      // Refused unchecked while locked out, so the lock is no oracle.
      coordinator.count('admin-backoff');
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      return json(res, 429, {
        error: `admin: too many wrong admin tokens from ${key}; try again in ${Math.ceil(wait / 1000)} s`,
      });
    }
    if (!token || !sameSecret(token, opts.adminToken)) {
      coordinator.count('admin-unauthorized');
      const lock = token ? (opts.guesses?.wrong(key) ?? 0) : 0;
      log(
        `admin ${logField(action)}: refused, missing or wrong admin token from ${clientAddressOf(req)}` +
          (lock > 0 ? `; locked out for ${lock} ms` : ''),
      );
      return json(res, 401, {
        error:
          'admin token required: send "Authorization: Bearer <token>" with the token pqfed serve printed ' +
          'when it started (kept in <data-dir>/admin-token)',
      });
    }
    if (action === 'export' && req.method === 'GET') {
      const status = coordinator.status(channels.fingerprint);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('format') === 'csv') {
        res.setHeader('Content-Type', 'text/csv; charset=utf-8');
        res.end(historyCsv(status.history));
        return;
      }
      return json(res, 200, status);
    }
    if (action === 'clients' && req.method === 'GET') {
      // Network addresses are for the admin only; the public /api/status leaves them out.
      return json(res, 200, { addresses: coordinator.clientAddresses() });
    }
    if (action === 'model' && req.method === 'GET') {
      if (!opts.exportModel) return json(res, 404, { error: 'admin model: this server has no model export' });
      return json(res, 200, opts.exportModel());
    }
    if (req.method !== 'POST') return json(res, 405, { error: `admin ${action}: use POST` });
    switch (action) {
      case 'start': {
        const s = coordinator.status(channels.fingerprint);
        if (s.phase === 'finished') {
          return json(res, 409, {
            error:
              `The experiment is finished: ${s.round} of ${s.rounds} rounds are done, so Start has nothing ` +
              'to run. Start a new class (New class on the dashboard, or POST /api/admin/new-session), or ' +
              'give it more rounds in the settings and press Start again.',
          });
        }
        coordinator.start();
        break;
      }
      case 'new-session': {
        let r: ReturnType<Coordinator['newSession']>;
        try {
          r = coordinator.newSession();
        } catch (e) {
          if (e instanceof SessionBusyError) return json(res, 409, { error: `New class: ${e.message}.` });
          throw e;
        }
        log(
          `admin new-session: ${r.session} (archived ${r.previous}${r.archived ? ` in ${r.archived}` : ''})`,
        );
        const s = coordinator.status(channels.fingerprint);
        return json(res, 200, {
          ok: true,
          phase: s.phase,
          round: s.round,
          session: r.session,
          previous: r.previous,
          archived: r.archived ? basename(r.archived) : null,
        });
      }
      case 'pause':
        coordinator.pause();
        break;
      case 'stop':
        coordinator.stop();
        break;
      case 'config': {
        let change: Record<string, unknown>;
        try {
          change = JSON.parse(await readBody(req, 64 * 1024)) as Record<string, unknown>;
        } catch (e) {
          if (e instanceof ConfigError) return json(res, 413, { error: e.message });
          return json(res, 400, { error: 'admin config: expected a JSON object' });
        }
        if (typeof change !== 'object' || change === null || Array.isArray(change)) {
          return json(res, 400, { error: 'admin config: expected a JSON object' });
        }
        const allowed = ['rounds', 'clientsPerRound', 'strategy', 'strategyParams'];
        const extra = Object.keys(change).filter((k) => !allowed.includes(k));
        if (extra.length) {
          return json(res, 400, {
            error: `admin config: only ${allowed.join(', ')} can change, got ${extra}`,
          });
        }
        try {
          const parsed = parseConfig(change);
          coordinator.reconfigure({
            ...(change.rounds !== undefined && { rounds: parsed.rounds }),
            ...(change.clientsPerRound !== undefined && { clientsPerRound: parsed.clientsPerRound }),
            ...(change.strategy !== undefined && { strategy: parsed.strategy }),
            ...(change.strategyParams !== undefined && { strategyParams: parsed.strategyParams }),
          });
        } catch (e) {
          if (e instanceof ConfigError) return json(res, 400, { error: e.message });
          throw e;
        }
        break;
      }
      default:
        return json(res, 404, {
          error: `no admin action "${action}" (start, pause, stop, config, new-session, export, model, clients)`,
        });
    }
    log(`admin ${action}`);
    const s = coordinator.status(channels.fingerprint);
    return json(res, 200, { ok: true, phase: s.phase, round: s.round });
  };
}

export const HISTORY_COLUMNS = [...ROUND_FIELDS, 'outcome', 'strategy', 'cryptoSeconds'] as const;

/** The history as CSV for people: numbers to 6 significant digits (the JSON export keeps full precision). */
export function historyCsv(history: Record<string, unknown>[]): string {
  const cell = (v: unknown) => (typeof v === 'number' ? csvNumber(v) : String(v ?? ''));
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const h of history) lines.push(HISTORY_COLUMNS.map((k) => cell(h[k])).join(','));
  return `${lines.join('\n')}\n`;
}
