/**
 * privacyIDEA's /validate/check beside the server's own /v1/verify, on one server process in the
 * same run: accepted verifications per second over HTTP keep-alive from 64 connections, each
 * request a fresh valid code of one of 2000 tokens (the code alone, by serial; a form body for
 * /validate/check, as the plugins send it, from a network --validate-allow lists).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import autocannon from 'autocannon';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { startServerProcess, tempDir } from '../../test/support/processes.ts';
import { rate, type Row } from '../table.ts';

const CONNECTIONS = 64;
const DURATION_S = 8;
const TOKENS = 2000;

function load(url: string, route: string, headers: Record<string, string>, body: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, connections: CONNECTIONS, duration: DURATION_S, requests: [{ method: 'POST', path: route, headers, setupRequest: (request) => ({ ...request, body: body() }) }] },
      (error, result) => (error ? reject(error) : resolve(result.requests.total)),
    );
  });
}

async function accepted(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/noegleviser_verifications_total\{result="accepted",reason=""\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

export async function validateCheckRows(): Promise<Row[]> {
  const dir = tempDir('bench-validate');
  const server = await startServerProcess({ dbFile: path.join(dir, 'tokens.db'), args: ['--quiet', '--rate-limit', '0', '--validate-allow', '127.0.0.1/32'] });
  try {
    const seeds: Buffer[] = [];
    for (let batch = 0; batch < TOKENS; batch += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const seed = (seeds[batch + i] = randomBytes(20));
          return fetch(`${server.url}/v1/tokens`, {
            method: 'POST',
            headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ serial: `VC${batch + i}`, kind: 'hotp', seed: seed.toString('hex') }),
          });
        }),
      );
    }
    // Tokens 0–999 for /v1/verify, 1000–1999 for /validate/check, each a counter on per request.
    const counters = new Array<number>(TOKENS).fill(0);
    const next = (offset: number) => {
      let n = 0;
      return () => {
        const token = offset + (n++ % (TOKENS / 2));
        return { serial: `VC${token}`, code: referenceHotp(seeds[token]!, counters[token]!++) };
      };
    };
    const verifyNext = next(0);
    const checkNext = next(TOKENS / 2);
    const before = await accepted(server.url);
    const verifyRequests = await load(server.url, '/v1/verify', { 'content-type': 'application/json', authorization: `Bearer ${server.clientKey}` }, () => JSON.stringify(verifyNext()));
    const middle = await accepted(server.url);
    const checkRequests = await load(server.url, '/validate/check', { 'content-type': 'application/x-www-form-urlencoded' }, () => {
      const { serial, code } = checkNext();
      return `serial=${serial}&pass=${code}`;
    });
    const after = await accepted(server.url);
    const verifyPerSecond = (middle - before) / DURATION_S;
    const checkPerSecond = (after - middle) / DURATION_S;
    void verifyRequests;
    void checkRequests;
    return [
      {
        figure: `privacyIDEA /validate/check: accepted codes/s (form body, no key: --validate-allow), ${CONNECTIONS} connections`,
        ours: rate(checkPerSecond, 'checks/s'),
        reference: `${rate(verifyPerSecond, 'verifies/s')} /v1/verify, same server`,
        ratio: `${((checkPerSecond / Math.max(1, verifyPerSecond)) * 100).toFixed(0)}%`,
        goal: '≥ 70% of /v1/verify',
        met: checkPerSecond / Math.max(1, verifyPerSecond) >= 0.7,
      },
    ];
  } finally {
    await server.stop('SIGTERM');
  }
}
