/**
 * The teacher's controls, behind the admin token: Start, Pause, Stop, New class (the finished class's
 * history is archived on the server; the next starts at round 0 with the same join link), a form that
 * changes the strategy, the rounds and the clients per round (from the next round on), and the exports
 * (history as CSV or JSON, the global model as tfjs artifacts). The token lives in this tab's
 * sessionStorage only: never in a URL, never logged, sent only in the `Authorization` header. Every
 * refusal is said in plain words (`plainRefusal`): this page is on a projector.
 */
import { STRATEGY_NAMES } from '../../core/strategies/strategy.ts';
import { byId, h, saveFile, setText } from './dom.ts';
import { exportName } from './format.ts';
import type { StatusJson } from './status.ts';

const TOKEN_KEY = 'pqfed.adminToken';

export interface ConfigValues {
  strategy: string;
  rounds: number;
  fraction: number;
  min: number;
  max: number;
}

/**
 * What to send to `POST /api/admin/config`: only the settings that differ from the server's (sending the
 * strategy again would restart it, and FedAdam would lose its moments).
 */
export function configChange(
  current: Pick<StatusJson, 'strategy' | 'config'>,
  v: ConfigValues,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v.strategy !== current.strategy) out.strategy = v.strategy;
  if (v.rounds !== current.config.rounds) out.rounds = v.rounds;
  const c = current.config.clientsPerRound;
  if (v.fraction !== c.fraction || v.min !== c.min || v.max !== c.max) {
    out.clientsPerRound = { fraction: v.fraction, min: v.min, max: v.max };
  }
  return out;
}

/** Checks the form's values before they go to the server; null when they are fine. */
export function configProblem(v: ConfigValues): string | null {
  if (!(STRATEGY_NAMES as readonly string[]).includes(v.strategy)) return `unknown strategy ${v.strategy}`;
  if (!Number.isInteger(v.rounds) || v.rounds < 1) return 'rounds must be a whole number ≥ 1';
  if (!(v.fraction > 0 && v.fraction <= 1)) return 'the fraction of clients must be in (0, 1]';
  if (!Number.isInteger(v.min) || v.min < 1) return 'the minimum must be a whole number ≥ 1';
  if (!Number.isInteger(v.max) || v.max < v.min) return 'the maximum must be a whole number ≥ the minimum';
  return null;
}

/** The server's message in a failed response (its JSON `error`, else its text; may be empty). */
export async function responseDetail(res: Response): Promise<string> {
  let detail = '';
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { error?: unknown };
      detail = typeof body.error === 'string' ? body.error : text;
    } catch {
      detail = text;
    }
  } catch {
    detail = '';
  }
  return detail.slice(0, 400);
}

/** "401 Unauthorized: admin token required…" from a failed response. */
export async function responseError(res: Response): Promise<string> {
  const detail = await responseDetail(res);
  const head = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  return detail ? `${head}: ${detail.slice(0, 300)}` : head;
}

export const WRONG_TOKEN =
  'That admin token is not right. It was printed when the server started (and is kept in .pqfed/admin-token).';

/** A refused admin request in plain words for the projected page: what went wrong and what to do. */
export function plainRefusal(status: number, detail: string): string {
  const said = detail.trim().replace(/\.$/, '');
  if (status === 401) return WRONG_TOKEN;
  // 409: the server explains why now is not the time (a finished run, a round being evaluated).
  if (status === 409 && said) return `${said}.`;
  if (status === 400) return `The server did not accept that${said ? `: ${said}` : ''}.`;
  if (status === 413) return 'That was too large for the server to accept.';
  if (status === 404 || status === 405)
    return `This server does not offer that action${said ? ` (${said})` : ''}; is it an older PQFed?`;
  if (status >= 500) return `The server hit an error (HTTP ${status}); its log says more.`;
  return `The server refused (HTTP ${status})${said ? `: ${said}` : ''}.`;
}

/** The confirmation a teacher answers before a new class. */
export const NEW_CLASS_CONFIRM =
  'Start a new class? The current history is archived on the server (in .pqfed/archive/) and the next run ' +
  'starts at round 0 with a fresh model. The join link and the server key stay the same; students join again.';

/** What the page says after a new class started. */
export function newClassLine(body: { session?: unknown; archived?: unknown }): string {
  const session = typeof body.session === 'string' ? body.session.slice(0, 12) : 'new';
  const archive =
    typeof body.archived === 'string'
      ? ` The previous class's history is archived on the server as archive/${body.archived}.`
      : '';
  return `New class started (session ${session}), at round 0.${archive} Students join again with the same link.`;
}

export class AdminPanel {
  private readonly token = byId<HTMLInputElement>('admin-token');
  private readonly result = byId<HTMLElement>('admin-result');
  private readonly form = byId<HTMLFormElement>('admin-config');
  private readonly strategy = byId<HTMLSelectElement>('cfg-strategy');
  private readonly rounds = byId<HTMLInputElement>('cfg-rounds');
  private readonly fraction = byId<HTMLInputElement>('cfg-fraction');
  private readonly min = byId<HTMLInputElement>('cfg-min');
  private readonly max = byId<HTMLInputElement>('cfg-max');
  private status: StatusJson | null = null;
  /** The form shows the server's settings until someone edits it. */
  private edited = false;

  constructor(private readonly refresh: () => void) {
    this.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
    this.token.addEventListener('input', () => {
      if (this.token.value) sessionStorage.setItem(TOKEN_KEY, this.token.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    });
    byId<HTMLFormElement>('admin-token-form').addEventListener('submit', (e) => e.preventDefault());
    byId('admin-forget').addEventListener('click', () => {
      this.token.value = '';
      sessionStorage.removeItem(TOKEN_KEY);
      this.say('The admin token is forgotten in this tab.', 'ok');
    });
    for (const name of STRATEGY_NAMES) this.strategy.append(h('option', { value: name }, name));
    byId('admin-start').addEventListener('click', () => void this.action('start', 'Started.'));
    byId('admin-pause').addEventListener(
      'click',
      () => void this.action('pause', 'Paused: the round in progress finishes, then no new round starts.'),
    );
    byId('admin-new-session').addEventListener('click', () => {
      if (confirm(NEW_CLASS_CONFIRM)) void this.newClass();
    });
    byId('admin-stop').addEventListener('click', () => {
      if (confirm('Stop the experiment? The round in progress is dropped and no further round runs.')) {
        void this.action('stop', 'Stopped: the experiment is finished.');
      }
    });
    for (const input of [this.strategy, this.rounds, this.fraction, this.min, this.max]) {
      input.addEventListener('input', () => {
        this.edited = true;
      });
    }
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.applyConfig();
    });
    byId('cfg-reset').addEventListener('click', () => {
      this.edited = false;
      if (this.status) this.fill(this.status);
    });
    byId('export-csv').addEventListener(
      'click',
      () => void this.download('/api/admin/export?format=csv', 'csv'),
    );
    byId('export-json').addEventListener('click', () => void this.download('/api/admin/export', 'json'));
    byId('export-model').addEventListener('click', () => void this.download('/api/admin/model', 'model'));
  }

  /** The latest status: the form follows the server's settings unless it is being edited. */
  update(s: StatusJson): void {
    this.status = s;
    if (!this.edited) this.fill(s);
  }

  private fill(s: StatusJson): void {
    this.strategy.value = s.strategy;
    this.rounds.value = String(s.config.rounds);
    this.fraction.value = String(s.config.clientsPerRound.fraction);
    this.min.value = String(s.config.clientsPerRound.min);
    this.max.value = String(s.config.clientsPerRound.max);
  }

  private say(text: string, kind: 'ok' | 'error' | 'busy'): void {
    this.result.dataset.state = kind;
    setText(this.result, text);
  }

  private headers(): Record<string, string> | null {
    const token = this.token.value.trim();
    if (!token) {
      this.say('Enter the admin token first (pqfed serve prints it at start-up).', 'error');
      this.token.focus();
      return null;
    }
    return { Authorization: `Bearer ${token}` };
  }

  /** Sends an admin request; says `done` (or what the answer makes of it) or the refusal in plain words. */
  private async call(
    path: string,
    init: RequestInit,
    done: string | ((body: Record<string, unknown>) => string),
  ): Promise<boolean> {
    const headers = this.headers();
    if (!headers) return false;
    this.say('Sending…', 'busy');
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as object) } });
    } catch (e) {
      this.say(`The server did not answer: ${(e as Error).message}`, 'error');
      return false;
    }
    if (!res.ok) {
      this.say(plainRefusal(res.status, await responseDetail(res)), 'error');
      if (res.status === 401) this.token.focus();
      return false;
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    this.say(typeof done === 'string' ? done : done(body), 'ok');
    this.refresh();
    return true;
  }

  private async newClass(): Promise<void> {
    const ok = await this.call('/api/admin/new-session', { method: 'POST' }, newClassLine);
    if (ok) this.edited = false;
  }

  private action(what: 'start' | 'pause' | 'stop', done: string): Promise<boolean> {
    return this.call(`/api/admin/${what}`, { method: 'POST' }, done);
  }

  private async applyConfig(): Promise<void> {
    if (!this.status) return this.say('No status from the server yet.', 'error');
    const v: ConfigValues = {
      strategy: this.strategy.value,
      rounds: Number(this.rounds.value),
      fraction: Number(this.fraction.value),
      min: Number(this.min.value),
      max: Number(this.max.value),
    };
    const problem = configProblem(v);
    if (problem) return this.say(`Not sent: ${problem}.`, 'error');
    const change = configChange(this.status, v);
    if (Object.keys(change).length === 0) return this.say('Nothing to change.', 'ok');
    const ok = await this.call(
      '/api/admin/config',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(change) },
      `Applied from the next round: ${Object.keys(change).join(', ')}.`,
    );
    if (ok) this.edited = false;
  }

  private async download(path: string, kind: 'csv' | 'json' | 'model'): Promise<void> {
    const headers = this.headers();
    if (!headers) return;
    this.say('Preparing the download…', 'busy');
    let res: Response;
    try {
      res = await fetch(path, { headers });
    } catch (e) {
      return this.say(`The server did not answer: ${(e as Error).message}`, 'error');
    }
    if (!res.ok) return this.say(plainRefusal(res.status, await responseDetail(res)), 'error');
    const blob = await res.blob();
    const s = this.status;
    const name = exportName(
      kind === 'model' ? 'model' : 'history',
      s?.session ?? '',
      s?.round ?? 0,
      kind === 'csv' ? 'csv' : 'json',
    );
    saveFile(name, blob);
    this.say(`Saved ${name} (${blob.size} bytes).`, 'ok');
  }
}
