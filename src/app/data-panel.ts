/**
 * The "Data on this device" section: what IndexedDB holds (rows and the class histogram), deleting it, and
 * importing the user's own CSV through the file picker or by dropping it, parsed as a stream in the worker
 * with a progress bar. A failed import (malformed file, full storage) says why and keeps the previous data.
 */

import { proxy } from 'comlink';
import type { DatasetId } from '../data/schema.ts';
import type { ShardSummary } from '../worker/store.ts';
import { byId as el } from './dashboard/dom.ts';
import type { TrainerHandle } from './trainer.ts';

function summaryView(s: ShardSummary): HTMLElement {
  const box = document.createElement('div');
  box.className = 'shard';
  box.dataset.kind = s.kind;
  box.dataset.rows = String(s.rows);
  const h = document.createElement('h3');
  h.textContent = `${s.kind === 'imported' ? 'Imported' : 'Server shard'}: ${s.rows.toLocaleString('en')} rows of ${s.dataset}`;
  const p = document.createElement('p');
  p.textContent = `From ${s.origin}, stored ${new Date(s.storedAt).toLocaleString()}.`;
  const table = document.createElement('table');
  const caption = document.createElement('caption');
  caption.textContent = 'Rows per class';
  table.append(caption);
  const total = Math.max(1, s.rows);
  for (const [name, n] of Object.entries(s.classes).sort((a, b) => b[1] - a[1])) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    const td = document.createElement('td');
    td.textContent = n.toLocaleString('en');
    const bar = document.createElement('td');
    const meter = document.createElement('meter');
    meter.max = total;
    meter.value = n;
    meter.setAttribute('aria-label', `${name}: ${((100 * n) / total).toFixed(1)} %`);
    bar.append(meter);
    tr.append(th, td, bar);
    table.append(tr);
  }
  box.append(h, p, table);
  return box;
}

export function mountDataPanel(trainer: TrainerHandle, onImported: () => Promise<void>): { refresh(): void } {
  const ui = {
    list: el('shard-list'),
    del: el<HTMLButtonElement>('shard-delete'),
    dataset: el<HTMLSelectElement>('import-dataset'),
    file: el<HTMLInputElement>('import-file'),
    drop: el('drop-zone'),
    progress: el<HTMLProgressElement>('import-progress'),
    text: el('import-text'),
  };

  async function refresh(): Promise<void> {
    const all = await trainer.api.shards();
    if (all.length === 0) {
      const p = document.createElement('p');
      p.textContent = 'No data stored yet.';
      ui.list.replaceChildren(p);
    } else ui.list.replaceChildren(...all.map(summaryView));
  }

  async function importFile(file: File): Promise<void> {
    ui.file.disabled = true;
    ui.progress.value = 0;
    ui.text.textContent = `Importing ${file.name}…`;
    ui.text.dataset.state = 'busy';
    try {
      const r = await trainer.api.importCsv(
        file,
        ui.dataset.value as DatasetId,
        proxy((p) => {
          ui.progress.max = Math.max(1, p.totalBytes);
          ui.progress.value = Math.min(p.bytesRead, ui.progress.max);
          ui.text.textContent = `Importing ${file.name}: ${p.rowsRead.toLocaleString('en')} rows read…`;
        }),
      );
      ui.progress.value = ui.progress.max;
      const skipped = r.report.rowsSkipped ? `, ${r.report.rowsSkipped.toLocaleString('en')} skipped` : '';
      ui.text.textContent = `Imported ${r.summary.rows.toLocaleString('en')} rows from ${file.name}${skipped}.`;
      ui.text.dataset.state = 'done';
      await refresh();
      await onImported();
    } catch (err) {
      ui.text.textContent = `Import failed, the stored data is unchanged: ${err instanceof Error ? err.message : String(err)}`;
      ui.text.dataset.state = 'error';
    } finally {
      ui.file.disabled = false;
      ui.file.value = '';
    }
  }

  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) void importFile(f);
  });
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.dataset.over = 'true';
  });
  ui.drop.addEventListener('dragleave', () => {
    ui.drop.dataset.over = 'false';
  });
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.dataset.over = 'false';
    const f = e.dataTransfer?.files[0];
    if (f) void importFile(f);
  });
  ui.del.addEventListener('click', async () => {
    await trainer.api.deleteShards();
    ui.text.textContent = 'Stored data deleted.';
    await refresh();
  });
  void refresh();
  return { refresh: () => void refresh() };
}
