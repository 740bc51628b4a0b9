/**
 * What a tab keeps in IndexedDB (through `idb`, one typed schema), so a reload rejoins as the same client
 * with the same data and without importing again:
 * - `identity`: the client's ML-DSA-65 key pair (created on first use). IndexedDB is per origin and not
 *   encrypted: anyone with access to this browser profile can read it, as with any site's storage.
 * - `memberships`: per server fingerprint, the client id the server gave this key.
 * - `shards`: the data this tab trains on — `default` (its shard of the embedded sample, already encoded with
 *   the experiment's preprocessor and keyed by what it was built from) and `imported` (the user's own CSV,
 *   kept raw and encoded when an experiment starts). Each is written in one transaction at the end of its
 *   import: a tab closed mid-import leaves the previous shard as it was.
 * A full quota surfaces as a StorageFullError with a message a person can act on.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { EncodedData } from '../data/features.ts';
import type { FlowTable } from '../data/import.ts';
import type { DatasetId } from '../data/schema.ts';
import { RELEASES } from '../data/schemas/index.ts';

export const DB_NAME = 'pqfed';
const DB_VERSION = 1;

export interface StoredIdentity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  createdAt: string;
}

export interface Membership {
  serverFingerprint: string;
  clientId: string;
  joinedAt: string;
}

/** A summary the page shows: rows and how they spread over the classes. */
export interface ShardSummary {
  kind: 'default' | 'imported';
  dataset: DatasetId;
  rows: number;
  /** Class name → rows. */
  classes: Record<string, number>;
  /** Where it came from: the shard index and data URL, or the imported file's name. */
  origin: string;
  storedAt: string;
}

/** The default shard, encoded; `key` names everything it was built from (source, index, preprocessor). */
export interface StoredDefaultShard {
  kind: 'default';
  key: string;
  data: EncodedData;
  summary: ShardSummary;
}

/** A FlowTable without its schema object (stored by dataset and release, re-attached on load). */
export type StoredTable = Omit<FlowTable, 'schema'> & { dataset: DatasetId; release: string };

export interface StoredImportedShard {
  kind: 'imported';
  table: StoredTable;
  summary: ShardSummary;
}

interface PqfedDb extends DBSchema {
  identity: { key: 'self'; value: StoredIdentity };
  memberships: { key: string; value: Membership };
  shards: { key: 'default' | 'imported'; value: StoredDefaultShard | StoredImportedShard };
}

export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

export class StoreError extends Error {
  override name = 'StoreError';
}

function isQuota(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'QuotaExceededError' || e.code === 22);
}

/** Runs a write, turning a full quota into a StorageFullError that says what to do. */
async function writing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isQuota(e)) {
      throw new StorageFullError(
        `${what}: this browser's storage for the site is full. Delete the stored shard (or other site data) ` +
          'and try again, or import a smaller file.',
      );
    }
    throw e;
  }
}

export class ClientStore {
  private constructor(private readonly db: IDBPDatabase<PqfedDb>) {}

  static async open(name = DB_NAME): Promise<ClientStore> {
    const db = await openDB<PqfedDb>(name, DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('identity');
        d.createObjectStore('memberships');
        d.createObjectStore('shards');
      },
    });
    return new ClientStore(db);
  }

  close(): void {
    this.db.close();
  }

  async identity(): Promise<StoredIdentity | undefined> {
    return this.db.get('identity', 'self');
  }

  async saveIdentity(id: StoredIdentity): Promise<void> {
    await writing('saving the client key', () => this.db.put('identity', id, 'self'));
  }

  async membership(serverFingerprint: string): Promise<Membership | undefined> {
    return this.db.get('memberships', serverFingerprint);
  }

  async saveMembership(m: Membership): Promise<void> {
    await writing('saving the client id', () => this.db.put('memberships', m, m.serverFingerprint));
  }

  async defaultShard(): Promise<StoredDefaultShard | undefined> {
    const s = await this.db.get('shards', 'default');
    return s?.kind === 'default' ? s : undefined;
  }

  async saveDefaultShard(s: StoredDefaultShard): Promise<void> {
    await writing('saving the shard', () => this.db.put('shards', s, 'default'));
  }

  async importedShard(): Promise<{ table: FlowTable; summary: ShardSummary } | undefined> {
    const s = await this.db.get('shards', 'imported');
    if (s?.kind !== 'imported') return undefined;
    const { dataset, release, ...rest } = s.table;
    const schema = RELEASES.find((r) => r.dataset === dataset && r.release === release);
    if (!schema) throw new StoreError(`stored shard: unknown release ${dataset}/${release}; import it again`);
    return { table: { ...rest, schema }, summary: s.summary };
  }

  async saveImportedShard(table: FlowTable, summary: ShardSummary): Promise<void> {
    const { schema, ...rest } = table;
    const stored: StoredImportedShard = {
      kind: 'imported',
      table: { ...rest, dataset: schema.dataset, release: schema.release },
      summary,
    };
    await writing('saving the imported data', () => this.db.put('shards', stored, 'imported'));
  }

  async summaries(): Promise<ShardSummary[]> {
    const all = await this.db.getAll('shards');
    return all.map((s) => s.summary);
  }

  /** Deletes the stored data (both shards); the identity and memberships stay. */
  async deleteShards(): Promise<void> {
    await this.db.clear('shards');
  }
}

/** Rows per class name, for a summary. */
export function classHistogram(labels: Int32Array, classes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of labels) {
    const name = classes[l] ?? `class ${l}`;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
