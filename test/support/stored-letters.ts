/**
 * A letter of the outbox read the way the lab reads it: from the store the servers share (a SQLite
 * file, or a PostgreSQL database by its URL), opened with the cluster's master key. The test's own
 * connection, closed after each read.
 */
import path from 'node:path';
import { findMasterKey } from '../../host/server/secrets.ts';
import { SeedVault } from '../../host/server/seed-vault.ts';
import { StoredOutbox } from '../../host/service/outbox/outbox.ts';
import { PostgresLetterStore } from '../../host/service/outbox/postgres-letter-store.ts';
import { SqliteLetterStore } from '../../host/service/outbox/sqlite-letter-store.ts';
import { PostgresDatabase } from '../../host/store/postgres/postgres-database.ts';
import { SqliteDatabase } from '../../host/store/sqlite-database.ts';

/** Where the letters are: a PostgreSQL URL with the master key (hex) the nodes were given, or a SQLite file beside its master.key. */
export type LetterSource = { readonly postgresUrl: string; readonly masterKey: string } | { readonly dbFile: string };

/** The letter's HTML, as the person would receive it. */
export async function storedLetterHtml(source: LetterSource, id: string): Promise<string> {
  return withOutbox(source, async (outbox) => (await outbox.open(id)).html);
}

/** The ids of the letters in the outbox, oldest first. */
export async function storedLetterIds(source: LetterSource): Promise<string[]> {
  return withOutbox(source, async (outbox) => (await outbox.list()).map((letter) => letter.id));
}

async function withOutbox<T>(source: LetterSource, read: (outbox: StoredOutbox) => Promise<T>): Promise<T> {
  if ('postgresUrl' in source) {
    const database = await PostgresDatabase.open(source.postgresUrl);
    try {
      const vault = new SeedVault(findMasterKey('/nonexistent', { NOEGLEVISER_MASTER_KEY: source.masterKey })!.key);
      return await read(new StoredOutbox(await PostgresLetterStore.open(database), vault));
    } finally {
      await database.close();
    }
  }
  const database = SqliteDatabase.open(source.dbFile);
  try {
    const vault = new SeedVault(findMasterKey(path.dirname(source.dbFile), {})!.key);
    return await read(new StoredOutbox(new SqliteLetterStore(database), vault));
  } finally {
    await database.close();
  }
}
