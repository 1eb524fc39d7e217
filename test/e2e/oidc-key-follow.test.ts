/**
 * A running server follows the signing keys in its store by itself, on its real SQLite file: a
 * rotation written to the store by another writer (as another node of a cluster would) is signed
 * with and published within the key check's interval, without this server's rotate being called;
 * and a long-running server drops a retired key from its JWKS once the retention has passed on
 * its clock (the clock the host is given), with nothing else changing in the store. The change is
 * logged by key id, never with key material. (Two server processes on one PostgreSQL:
 * test/e2e/oidc-cluster.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RETIRED_KEY_KEPT_MS, rotateSigningKey } from '../../host/service/oidc/keys.ts';
import { SqliteOidcStore } from '../../host/service/oidc/store/sqlite-oidc-store.ts';
import { SeedVault } from '../../host/server/seed-vault.ts';
import { startHost, type RunningHost } from '../../host/start.ts';
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

const CHECK_EVERY_MS = 100;

describe("a server follows the store's signing keys", () => {
  it('signs with and publishes a key rotated by another writer within the check interval, then drops the retired key once its time has passed on its clock', async () => {
    dir = tempDir('oidc-key-follow');
    const dbFile = path.join(dir, 'server', 'tokens.db');
    const masterKey = randomBytes(32);
    let clock = Date.now();
    const logLines: string[] = [];
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    host = await startHost({ dbFile, port: 0, logger: { level: 'info', stream: log }, env: { NOEGLEVISER_MASTER_KEY: masterKey.toString('hex') }, now: () => clock, oidcKeyCheckEveryMs: CHECK_EVERY_MS });
    const issuer = host.oidc.issuer()!;
    const published = async () => ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] }).keys;
    const first = host.oidc.signingKid()!;
    expect((await published()).map((key) => key.kid)).toEqual([first]);

    // Another writer on the same store (another node would) rotates; this server is not told.
    database = SqliteDatabase.open(dbFile);
    const other = new SqliteOidcStore(database);
    const rotatedAt = clock;
    const rotated = await rotateSigningKey(other, new SeedVault(masterKey), { name: 'another node' }, rotatedAt);
    expect(rotated.retired).toEqual([first]);
    const changedAt = Date.now();
    await vi.waitFor(() => expect(host!.oidc.signingKid()).toBe(rotated.kid), { timeout: 10_000, interval: 20 });
    expect(Date.now() - changedAt, 'within the check interval (and a make)').toBeLessThan(CHECK_EVERY_MS + 3000);
    const both = await published();
    expect(both.map((key) => key.kid)).toEqual([rotated.kid, first]);
    expect(both.some((key) => key.d !== undefined), 'the JWKS carries public keys only').toBe(false);

    // Nothing changes in the store; the retention passes on the server's clock: the retired key leaves the JWKS, and the store.
    clock = rotatedAt + RETIRED_KEY_KEPT_MS - 1000;
    await new Promise((resolve) => setTimeout(resolve, 3 * CHECK_EVERY_MS));
    expect((await published()).map((key) => key.kid), 'kept until its time has passed').toEqual([rotated.kid, first]);
    clock = rotatedAt + RETIRED_KEY_KEPT_MS + 1000;
    await vi.waitFor(async () => expect((await published()).map((key) => key.kid)).toEqual([rotated.kid]), { timeout: 10_000, interval: 50 });
    expect((await other.listSigningKeys()).map((key) => key.kid)).toEqual([rotated.kid]);
    expect(host.oidc.signingKid()).toBe(rotated.kid);

    // Each change was logged by key id; no key material in the log.
    const changes = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'oidc-keys');
    expect(changes.map(({ signingKid, published: kids, dropped }) => ({ signingKid, published: kids, dropped }))).toEqual([
      { signingKid: rotated.kid, published: [rotated.kid, first], dropped: [] },
      { signingKid: rotated.kid, published: [rotated.kid], dropped: [first] },
    ]);
    const logged = logLines.join('');
    for (const material of ['"d":', '"p":', '"q":', '"dp":', 'PRIVATE KEY']) expect(logged.includes(material), material).toBe(false);
  });
});
