/**
 * The admin API (`/api/admin/<action>`, `Authorization: Bearer <admin token>`): start, pause, stop, change
 * the rounds, clients per round or strategy, export the history (JSON or CSV) and the global model, list
 * the connected clients' network addresses (`clients`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerChannels } from '../../core/channel.ts';
import { ROUND_FIELDS } from '../checkpoint.ts';
import { ConfigError, parseConfig } from '../config.ts';
import { type Coordinator, sameSecret } from '../coordinator.ts';
import { json, readBody } from './respond.ts';

export interface AdminOptions {
  coordinator: Coordinator;
  channels: ServerChannels;
  adminToken: string;
  /** The global model as tfjs artifacts (src/model/exported.ts), for `GET /api/admin/model`. */
  exportModel?: () => unknown;
  log: (line: string) => void;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, action: string) => Promise<void>;

export function adminRoutes(opts: AdminOptions): AdminHandler {
  const { coordinator, channels, log } = opts;
  return async function admin(req, res, action) {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!token || !sameSecret(token, opts.adminToken)) {
      coordinator.count('admin-unauthorized');
      log(`admin ${action}: refused, missing or wrong admin token from ${req.socket.remoteAddress}`);
      return json(res, 401, { error: 'admin token required: send "Authorization: Bearer <token>"' });
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
      case 'start':
        coordinator.start();
        break;
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
          error: `no admin action "${action}" (start, pause, stop, config, export, model, clients)`,
        });
    }
    log(`admin ${action}`);
    const s = coordinator.status(channels.fingerprint);
    return json(res, 200, { ok: true, phase: s.phase, round: s.round });
  };
}

export const HISTORY_COLUMNS = [...ROUND_FIELDS, 'outcome', 'strategy', 'cryptoSeconds'] as const;

export function historyCsv(history: Record<string, unknown>[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const h of history) lines.push(HISTORY_COLUMNS.map((k) => String(h[k] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}
