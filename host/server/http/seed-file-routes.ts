/**
 * The seed-file routes (contract in host/api/seed-files.ts): import a file whole or not at all,
 * export tokens (off unless the server runs with --allow-export). Both are an administrator's.
 */
import type { FastifyInstance } from 'fastify';
import { hexToBytes } from '../../../protocol/bytes.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { EXPORT_ROUTE, IMPORT_BODY_LIMIT, IMPORT_ROUTE, seedFileRoutes, type ExportAnswer, type ExportBody, type ImportAnswer, type ImportBody } from '../../api/seed-files.ts';
import type { ExportOptions } from '../../seed-files/index.ts';
import type { ExportSelection, SeedTransfer } from '../seed-transfer.ts';
import { ADMIN_ONLY, keyActor } from './access.ts';

export function registerSeedFileRoutes(app: FastifyInstance, transfer: SeedTransfer): void {

  app.post<{ Body: ImportBody }>(IMPORT_ROUTE, { ...ADMIN_ONLY, bodyLimit: IMPORT_BODY_LIMIT, schema: seedFileRoutes.import }, async (request): Promise<ImportAnswer> => {
    const body = request.body;
    if (body.password !== undefined && body.key !== undefined) throw new CodedError('NV_BAD_FIELD', 'give a password or a key, not both', 400);
    const content = new Uint8Array(Buffer.from(body.file, 'base64'));
    const password = body.password === undefined ? undefined : new TextEncoder().encode(body.password);
    const key = body.key === undefined ? undefined : hexToBytes(body.key);
    try {
      return await transfer.import(
        {
          content,
          fileName: body.fileName,
          format: body.format,
          password,
          key,
          dryRun: body.dryRun === true,
          replace: body.replace === true,
          allowShortSeed: body.allowShortSeed === true,
        },
        keyActor(request),
      );
    } finally {
      content.fill(0);
      password?.fill(0);
      key?.fill(0);
    }
  });

  app.post<{ Body: ExportBody }>(EXPORT_ROUTE, { ...ADMIN_ONLY, schema: seedFileRoutes.export }, async (request): Promise<ExportAnswer> => {
    const body = request.body;
    const chosen = [body.serials !== undefined, body.owner !== undefined, body.all === true].filter(Boolean).length;
    if (chosen !== 1) throw new CodedError('NV_BAD_FIELD', 'name what to export: exactly one of "serials", "owner" and "all"', 400);
    const selection: ExportSelection = body.serials ? { serials: body.serials } : body.owner !== undefined ? { owner: body.owner } : { all: true };
    const password = body.password === undefined ? undefined : new TextEncoder().encode(body.password);
    const key = body.key === undefined ? undefined : hexToBytes(body.key);
    try {
      return await transfer.export(selection, exportOptions(body, password, key), keyActor(request));
    } finally {
      password?.fill(0);
      key?.fill(0);
    }
  });
}

/** What the body asks for: an encrypted PSKC unless `plain` says seeds may go in the clear. */
function exportOptions(body: ExportBody, password: Uint8Array | undefined, key: Uint8Array | undefined): ExportOptions {
  const protectedBy = (password ? 1 : 0) + (key ? 1 : 0);
  if (body.format !== 'pskc') {
    if (protectedBy > 0) throw new CodedError('NV_EXPORT_PROTECTION', `a ${body.format} file cannot be encrypted: only PSKC takes a password or a key`, 400);
    if (body.plain !== true) throw new CodedError('NV_EXPORT_PLAIN', `a ${body.format} file holds seeds in the clear: send "plain": true to export it anyway`, 400);
  }
  switch (body.format) {
    case 'pskc':
      if (protectedBy > 1) throw new CodedError('NV_EXPORT_PROTECTION', 'give a password or a key, not both', 400);
      if (protectedBy === 0) {
        if (body.plain !== true) throw new CodedError('NV_EXPORT_PROTECTION', 'a PSKC export is encrypted: give a password or a key (or "plain": true for seeds in the clear)', 400);
        return { format: 'pskc', protection: { kind: 'plain' } };
      }
      if (body.plain === true) throw new CodedError('NV_EXPORT_PROTECTION', '"plain" and a password or key contradict each other', 400);
      return { format: 'pskc', protection: password ? { kind: 'password', password } : { kind: 'key', key: key! } };
    case 'otpauth':
      return { format: 'otpauth', sevenDigits: body.flagSevenDigits ? 'flag' : 'refuse' };
    case 'oathcsv':
      return { format: 'oathcsv', withUsers: true };
    case 'users.oath':
      return { format: 'users.oath' };
  }
}
