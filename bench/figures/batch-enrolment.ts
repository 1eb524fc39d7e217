/**
 * A rack of 200 emulated tokens in one process, enrolled end to end in one batch (a seed on each
 * token, its record on the server), and what each token of the rack costs in memory.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cli, spawnUntilReady, startServerProcess, tempDir } from '../../test/support/processes.ts';
import { rate, type Row } from '../table.ts';

const RACK = 200;

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function rack(count: number, dir: string, runtimeDir: string) {
  return spawnUntilReady<{ tokens?: unknown[] }>('rack', ['device', 'emulate', '--headless', '--count', String(count), '--profile', path.join(dir, `rack-${count}`)], {
    NOEGLEVISER_RUNTIME_DIR: runtimeDir,
  });
}

/** Resident memory once it has settled (a few samples, the lowest: GC may not have run yet). */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    samples.push(rssBytes(pid));
  }
  return Math.min(...samples);
}

export async function batchEnrolmentRows(): Promise<Row[]> {
  const dir = tempDir('bench-rack');
  const runtimeDir = path.join(dir, 'run');
  const server = await startServerProcess({ dbFile: path.join(dir, 'server', 'tokens.db'), args: ['--quiet', '--rate-limit', '0'] });
  const single = await rack(1, dir, path.join(dir, 'run-single'));
  const oneTokenRss = await settledRss(single.child.pid!);
  await single.stop('SIGTERM');
  const tokens = await rack(RACK, dir, runtimeDir);
  try {
    const env = { NOEGLEVISER_RUNTIME_DIR: runtimeDir, NOEGLEVISER_SERVER: server.url, NOEGLEVISER_ADMIN_KEY: server.adminKey, NOEGLEVISER_CLIENT_KEY: server.clientKey };
    const started = performance.now();
    const result = await cli(['enroll', '--all', '--yes', '--json'], { env, timeoutMs: 300_000 });
    const seconds = (performance.now() - started) / 1000;
    const summary = JSON.parse(result.stdout) as { enrolled: string[]; failed: unknown[] };
    if (summary.enrolled.length !== RACK) throw new Error(`enroll --all enrolled ${summary.enrolled.length} of ${RACK}: ${result.stderr}`);
    const rackRss = await settledRss(tokens.child.pid!);
    const perToken = (rackRss - oneTokenRss) / (RACK - 1);
    return [
      {
        figure: `batch enrolment: ${RACK} emulated tokens, each end to end (seed on the token, record on the server)`,
        ours: rate(RACK / seconds, 'tokens/s'),
        reference: '—',
        ratio: '—',
        goal: '≥ 200 tokens/s at N = 200',
        met: RACK / seconds >= 200,
      },
      {
        figure: `emulator: resident memory per token in a rack of ${RACK}`,
        ours: `${(perToken / 2 ** 10).toFixed(0)} KB`,
        reference: `${(oneTokenRss / 2 ** 20).toFixed(0)} MB for a rack of 1`,
        ratio: '—',
        goal: '≤ 1 MB a token',
        met: perToken <= 2 ** 20,
      },
    ];
  } finally {
    await tokens.stop('SIGTERM');
    await server.stop('SIGTERM');
  }
}
