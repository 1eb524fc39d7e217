/**
 * Files an earlier version kept in the data directory and this one reads no more (the outbox's
 * letters as files; on PostgreSQL, the login service's node-local service.db): a start says so,
 * once, in one coded line, and leaves them alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionUrl, postgres, PostgresNode, reportMissingPostgres } from '../support/postgres.ts';
import { cleanUpTestResources, startServerProcess, tempDir } from '../support/processes.ts';

reportMissingPostgres();

const WARNING = /^noegleviser: warning: .* \[NV_LEFTOVER_FILES\]$/m;

describe('a start over files an earlier version left', () => {
  const dir = tempDir('leftovers');
  afterAll(async () => {
    await cleanUpTestResources();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an outbox folder of letters as files: one coded warning naming it, and the folder left as it was', async () => {
    const serverDir = path.join(dir, 'lab');
    const letter = path.join(serverDir, 'outbox', '0001-welcome', 'letter.html');
    fs.mkdirSync(path.dirname(letter), { recursive: true, mode: 0o700 });
    fs.writeFileSync(letter, '<p>an old letter</p>', { mode: 0o600 });
    const server = await startServerProcess({ dbFile: path.join(serverDir, 'tokens.db') });
    const warnings = server.stderr().split('\n').filter((line) => WARNING.test(line));
    expect(warnings, server.stderr()).toHaveLength(1);
    expect(warnings[0]).toContain(path.join(serverDir, 'outbox'));
    expect(warnings[0]).not.toContain('an old letter');
    await server.stop();
    expect(fs.readFileSync(letter, 'utf8')).toBe('<p>an old letter</p>');
  });

  it('a data directory without them: no warning', async () => {
    const server = await startServerProcess({ dbFile: path.join(dir, 'fresh', 'tokens.db') });
    expect(server.stderr()).not.toMatch(WARNING);
    await server.stop();
  });

  it.skipIf(!postgres.available)("on PostgreSQL, a node's service.db from before: one coded warning naming it", async () => {
    const primary = await PostgresNode.startPrimary({ name: 'leftovers' });
    const url = connectionUrl(await primary.createDatabase(), [primary]);
    const nodeDir = path.join(dir, 'node');
    fs.mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(nodeDir, 'service.db'), '', { mode: 0o600 });
    const server = await startServerProcess({ dbFile: path.join(nodeDir, 'tokens.db'), postgresUrl: url, env: { NOEGLEVISER_MASTER_KEY: '00'.repeat(32) } });
    const warnings = server.stderr().split('\n').filter((line) => WARNING.test(line));
    expect(warnings, server.stderr()).toHaveLength(1);
    expect(warnings[0]).toContain(path.join(nodeDir, 'service.db'));
    await server.stop();
    expect(fs.existsSync(path.join(nodeDir, 'service.db'))).toBe(true);
  });
});
