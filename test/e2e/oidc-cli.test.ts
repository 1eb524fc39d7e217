/**
 * The operator's side of the OpenID Connect provider, as run at a shell: `noegleviser server
 * --issuer`, `noegleviser client add|list|remove` and `noegleviser oidc rotate-keys`, the real CLI
 * against the real `noegleviser server` process on loopback with a real SQLite file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, startServerProcess, tempDir, TEST_ADMIN_KEY, TEST_CLIENT_KEY, type CliResult, type ServerProcess } from '../support/processes.ts';

/**
 * Every process of these tests looks like Node 20 to oidc-provider, which then prints its
 * "Unsupported runtime" warning on stderr if it is loaded (on Node 24 too).
 */
const AS_NODE_20 = { NODE_OPTIONS: `--import ${pathToFileURL(path.resolve(import.meta.dirname, '../fixtures/node-before-22.mjs')).href}` };

function expectOneLineError(result: CliResult, code: string, exitCode: number): void {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^noegleviser: .+ \\[${code}\\]\\n$`));
}

describe('noegleviser server --issuer, client and oidc against a real server', () => {
  const dir = tempDir('oidc-cli');
  const ISSUER = 'https://login.example.test/oidc';
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  const printed: string[] = [];
  const run = async (args: string[]) => {
    const result = await cli(args, { env });
    printed.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    server = await startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet', '--issuer', ISSUER], env: AS_NODE_20 });
    env = { NOEGLEVISER_SERVER: server.url, NOEGLEVISER_ADMIN_KEY: TEST_ADMIN_KEY, XDG_CONFIG_HOME: path.join(dir, 'config'), ...AS_NODE_20 };
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('--issuer is the issuer of the discovery document (not the listen address)', async () => {
    const discovery = await api(server, 'GET', '/oidc/.well-known/openid-configuration');
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(ISSUER);
  });

  it('a wrong --issuer is a usage error, before any database or master key is made', async () => {
    const other = path.join(dir, 'wrong-issuer');
    for (const wrong of ['login.example/oidc', 'https://login.example/other', 'ftp://login.example/oidc', 'https://login.example/oidc?x=1']) {
      const result = await cli(['server', '--db', path.join(other, 'tokens.db'), '--listen', '127.0.0.1:0', '--issuer', wrong], { env: { XDG_CONFIG_HOME: path.join(dir, 'config'), ...AS_NODE_20 } });
      expect(result.code, `${wrong}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^noegleviser: --issuer .+ \[NV_BAD_ARGUMENT\]\n$/);
    }
    expect(fs.existsSync(path.join(other, 'tokens.db'))).toBe(false);
    expect(fs.existsSync(path.join(other, 'master.key'))).toBe(false);
  });

  it('client add shows the secret once; list and the API never show it; remove removes, a second remove is NV_NO_CLIENT', async () => {
    const added = await run([
      'client', 'add', '--name', 'Tax office', '--client-id', 'tax-office',
      '--redirect-uri', 'https://skat.example.test/callback', '--post-logout-uri', 'https://skat.example.test/',
      '--backchannel-logout-uri', 'https://skat.example.test/backchannel-logout', '--accept', 'full', '--json',
    ]);
    expect(added.code, added.stderr).toBe(0);
    const answer = JSON.parse(added.stdout) as { site: { clientId: string; acceptedScopes: string[]; redirectUris: string[] }; clientSecret: string };
    expect(answer.site).toMatchObject({ clientId: 'tax-office', acceptedScopes: ['full'], redirectUris: ['https://skat.example.test/callback'] });
    expect(answer.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const text = await run(['client', 'add', '--name', 'Net bank', '--redirect-uri', 'https://bank.example.test/cb', '--accept', 'full', '--accept', 'bank-only', '--accept', 'view-only', '--first-party']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^client secret:\s+[A-Za-z0-9_-]{43}$/m);
    expect(text.stdout).toMatch(/^accepts:\s+full, bank-only, view-only$/m);
    const bankSecret = /^client secret:\s+(\S+)$/m.exec(text.stdout)![1]!;
    const bankId = /^client id:\s+(\S+)$/m.exec(text.stdout)![1]!;

    const list = await run(['client', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^tax-office\s+full\s+Tax office$/m);
    expect(list.stdout).toContain(bankId);
    const listed = await api(server, 'GET', '/v1/oidc/sites', { key: TEST_ADMIN_KEY });
    expect(listed.status).toBe(200);
    expect(listed.body.sites).toHaveLength(2);
    for (const secret of [answer.clientSecret, bankSecret]) {
      expect(list.stdout).not.toContain(secret);
      expect(listed.text).not.toContain(secret);
    }

    const removed = await run(['client', 'remove', 'tax-office']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('tax-office is removed\n');
    expect((await run(['client', 'list'])).stdout).not.toContain('tax-office');
    expectOneLineError(await run(['client', 'remove', 'tax-office']), 'NV_NO_CLIENT', 1);
  });

  it('bad input: an unknown scope, plain http off loopback, a client id taken, a missing redirect URI', async () => {
    expectOneLineError(await run(['client', 'add', '--name', 'X', '--redirect-uri', 'https://x.example.test/cb', '--accept', 'everyone']), 'NV_BAD_ARGUMENT', 2);
    expectOneLineError(await run(['client', 'add', '--name', 'X', '--redirect-uri', 'http://x.example.test/cb']), 'NV_BAD_FIELD', 1);
    expectOneLineError(await run(['client', 'add', '--name', 'X', '--redirect-uri', 'http://127.0.0.5/cb']), 'NV_BAD_FIELD', 1);
    expect((await run(['client', 'add', '--name', 'Y', '--client-id', 'site-y', '--redirect-uri', 'https://y.example.test/cb'])).code).toBe(0);
    expectOneLineError(await run(['client', 'add', '--name', 'Y', '--client-id', 'site-y', '--redirect-uri', 'https://y.example.test/cb']), 'NV_CLIENT_EXISTS', 1);
    expectOneLineError(await run(['client', 'add', '--name', 'Z']), 'NV_USAGE', 2);
  });

  it('the sites API and the key rotation need the admin key', async () => {
    const body = { name: 'Q', redirectUris: ['https://q.example.test/cb'] };
    expect((await api(server, 'POST', '/v1/oidc/sites', { body })).status).toBe(401);
    expect((await api(server, 'POST', '/v1/oidc/sites', { key: TEST_CLIENT_KEY, body })).status).toBe(403);
    expect((await api(server, 'GET', '/v1/oidc/sites', { key: TEST_CLIENT_KEY })).status).toBe(403);
    expect((await api(server, 'DELETE', '/v1/oidc/sites/site-y', { key: TEST_CLIENT_KEY })).status).toBe(403);
    expect((await api(server, 'POST', '/v1/oidc/keys/rotate', { key: TEST_CLIENT_KEY, body: {} })).status).toBe(403);
    const unknownField = await api(server, 'POST', '/v1/oidc/sites', { key: TEST_ADMIN_KEY, body: { ...body, secret: 'mine' } });
    expect(unknownField.status).toBe(400);
  });

  it('oidc rotate-keys: the JWKS publishes the new key and keeps the old one', async () => {
    const before = (await api(server, 'GET', '/oidc/jwks')).body.keys.map((key: { kid: string }) => key.kid) as string[];
    expect(before).toHaveLength(1);
    const rotated = await run(['oidc', 'rotate-keys', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { kid, retired } = JSON.parse(rotated.stdout) as { kid: string; retired: string[] };
    expect(retired).toEqual(before);
    const after = (await api(server, 'GET', '/oidc/jwks')).body.keys as { kid: string; d?: string }[];
    expect(after.map((key) => key.kid)).toEqual([kid, before[0]]);
    expect(after.some((key) => key.d !== undefined), 'only public keys are published').toBe(false);
  });

  it('the server, which loads oidc-provider, prints no runtime warning on stderr (which carries its one-line errors)', async () => {
    // The provider is made once the server listens: its module was loaded by now.
    expect((await api(server, 'GET', '/oidc/jwks')).status).toBe(200);
    expect(server.stderr()).toBe('');
  });

  it('the CLI printed no client secret but in the answer to add', async () => {
    const secrets = printed.flatMap((text) => [...text.matchAll(/client secret:\s+(\S+)|"clientSecret":"([^"]+)"/g)].map((m) => m[1] ?? m[2]!));
    expect(secrets.length).toBeGreaterThan(1);
    for (const secret of secrets) expect(printed.filter((text) => text.includes(secret))).toHaveLength(1);
  });
});
