/**
 * `npm start`'s lab with the seed's three sites: the real `noegleviser lab` process starts the net
 * bank, the tax office and the debt-collection portal on 127.0.0.2/.3/.4 (the lab's port), each
 * registered with the provider once (its secret kept in the lab folder, mode 0600), and lists them
 * on /lab/sites with the lab person's provider session.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLab, type LabRun } from '../support/lab-process.ts';
import { api, tempDir } from '../support/processes.ts';

describe("the lab's sites", () => {
  const dir = tempDir('labsites');
  const data = path.join(dir, 'data');
  let lab: LabRun | undefined;
  afterAll(async () => {
    await lab?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('three sites on their own loopback addresses, registered once (kept across a restart), listed on /lab/sites', async () => {
    lab = await startLab(data, path.join(dir, 'run'));
    const port = new URL(lab.ready.server).port;
    const sites = (lab.ready as unknown as { sites: Record<string, string> }).sites;
    expect(sites).toEqual({ 'net-bank': `http://127.0.0.2:${port}`, 'tax-office': `http://127.0.0.3:${port}`, 'debt-portal': `http://127.0.0.4:${port}` });

    const file = path.join(data, 'sites.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { clientId: string; clientSecret: string }>;
    expect(Object.keys(saved).sort()).toEqual(['debt-portal', 'net-bank', 'tax-office']);

    for (const [kind, url] of Object.entries(sites)) {
      const home = await (await fetch(`${url}/`)).text();
      expect(home, kind).toContain('id="signed-out"');
      const login = await fetch(`${url}/login`, { redirect: 'manual' });
      expect(login.status).toBe(303);
      const to = new URL(login.headers.get('location')!);
      expect(to.origin + to.pathname).toBe(`${lab.ready.server}/oidc/auth`);
      expect(to.searchParams.get('client_id')).toBe(saved[kind]!.clientId);
    }
    const page = await (await fetch(`${lab.ready.server}/lab/sites`)).text();
    for (const url of Object.values(sites)) expect(page).toContain(`href="${url}/"`);
    expect(page).toContain('id="no-provider-session"');
    for (const { clientSecret } of Object.values(saved)) expect(page).not.toContain(clientSecret);

    // Again on the same port: the same registrations, none added.
    expect(await lab.stop()).toBe(0);
    lab = await startLab(data, path.join(dir, 'run'), ['--listen', `127.0.0.1:${port}`]);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(saved);
    const admin = (JSON.parse(fs.readFileSync(path.join(data, 'api-keys.json'), 'utf8')) as { admin: string }).admin;
    const listed = await api({ url: lab.ready.server }, 'GET', '/v1/oidc/sites', { key: admin });
    expect((listed.body.sites as { clientId: string }[]).map((site) => site.clientId).sort()).toEqual(Object.values(saved).map((site) => site.clientId).sort());
  });
});
