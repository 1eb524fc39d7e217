/**
 * The provider's expired rows (codes, sessions, grants, tokens, interaction logins) are swept on a
 * schedule by the running server, on its real SQLite file: a row past its expiry is deleted without
 * anyone asking, a live one stays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHost, type RunningHost } from '../../host/start.ts';
import { SqliteOidcStore } from '../../host/service/oidc/store/sqlite-oidc-store.ts';
import { SqliteDatabase } from '../../host/store/sqlite-database.ts';
import { tempDir } from '../support/processes.ts';

let host: RunningHost | undefined;
let database: SqliteDatabase | undefined;
let dir: string | undefined;

afterEach(async () => {
  await database?.close();
  await host?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  host = database = dir = undefined;
});

describe('the expired-row sweep', () => {
  it('the running server deletes the provider rows past their expiry by itself and keeps the live ones', async () => {
    dir = tempDir('oidc-sweep');
    const dbFile = path.join(dir, 'server', 'tokens.db');
    host = await startHost({ dbFile, port: 0, logger: false, env: {}, oidcSweepEveryMs: 50 });
    // A second connection on the same file, as another node of a cluster would write.
    database = SqliteDatabase.open(dbFile);
    const store = new SqliteOidcStore(database);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const row = (id: string, expiresAt: number) => ({ model: 'AuthorizationCode', id, payload: '{}', grantId: null, clientId: null, uid: null, userCode: null, account: null, expiresAt, consumedAt: null });
    await store.upsertModel(row('expired-code', nowSeconds - 60));
    await store.upsertModel(row('live-code', nowSeconds + 3600));
    const ids = async () => (await store.listModels('AuthorizationCode', 0)).map((record) => record.id).sort();
    expect(await ids()).toEqual(['expired-code', 'live-code']);

    await vi.waitFor(async () => expect(await ids()).toEqual(['live-code']), { timeout: 20_000, interval: 50 });
  });
});
