/**
 * The lab's link to the latest simulation report (`noegleviser simulate` writes it, by default into
 * `.noegleviser/simulation`, beside the lab's own folder). The lab only serves the file it is told
 * of; it knows nothing of the simulation's code. The page is self-contained (its plots' library
 * inlined), so it is served in a sandbox: its scripts run in an origin of their own, with no
 * access to the lab's.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/coded-error.ts';

/** Where `noegleviser simulate` writes its report unless told otherwise, relative to where it runs. */
export const DEFAULT_SIMULATION_REPORT_DIR = path.join('.noegleviser', 'simulation');
export const SIMULATION_REPORT_FILE = 'report.html';

const REPORT_POLICY = ["sandbox allow-scripts", "default-src 'none'", "script-src 'unsafe-inline'", "style-src 'unsafe-inline'", "img-src data:", "frame-ancestors 'self'"].join('; ');

export function registerSimulationReport(lab: FastifyInstance, reportDir: string): void {
  lab.get('/lab/simulation', async (_request, reply) => {
    let html: string;
    try {
      html = await fs.promises.readFile(path.join(reportDir, SIMULATION_REPORT_FILE), 'utf8');
    } catch {
      throw new CodedError('NV_NO_SIMULATION_REPORT', `no simulation report yet in ${reportDir}: run noegleviser simulate --tokens N --days D`, 404);
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', REPORT_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(html);
  });
}
