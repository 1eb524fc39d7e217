/**
 * Seed files in and out of the validation server: an import reads the whole file (host/seed-files)
 * and stores every token it yields in one transaction of the token store, or none; an export opens
 * the chosen tokens' seeds, writes them in a standard format, and marks each token as exported (its
 * codes may now be accepted elsewhere too), with an audit record per token. Exporting is off unless
 * the server was started to allow it.
 */
import { CodedError } from '../../protocol/coded-error.ts';
import {
  SeedFileError,
  dryRunRow,
  exportIsPlain,
  exportSeedFile,
  importSeedFile,
  wipeSeeds,
  type DryRunRow,
  type ExportOptions,
  type ExportToken,
  type KeyRefusal,
  type SeedFileFormat,
  type SeedFileImport,
} from '../seed-files/index.ts';
import { auditEntry, type Actor, type NewAuditEntry } from '../store/audit.ts';
import type { SeedVault } from './seed-vault.ts';
import { DuplicateSerialError, type NewToken, type TokenRecord, type TokenStore } from './store/types.ts';
import type { OwnerDirectory } from './token-service.ts';

export interface SeedImportRequest {
  readonly content: Uint8Array;
  readonly fileName?: string;
  readonly format?: SeedFileFormat;
  readonly password?: Uint8Array;
  readonly key?: Uint8Array;
  readonly dryRun: boolean;
  readonly replace: boolean;
  readonly allowShortSeed: boolean;
}

/** One token of an import as reported: what the dry run lists (never a seed), and whom it belongs to here. */
export interface ImportedTokenReport extends DryRunRow {
  /** The NemID number of the person the file's user names, or null when the service knows nobody by it. */
  readonly owner: string | null;
  /** Whether it takes the place of a token of that serial already on the server (--replace). */
  readonly replaces: boolean;
}

export interface SeedImportReport {
  readonly format: SeedFileFormat;
  readonly dryRun: boolean;
  /** How many tokens were stored (0 on a dry run). */
  readonly imported: number;
  readonly tokens: readonly ImportedTokenReport[];
  readonly refused: readonly KeyRefusal[];
  readonly notes: readonly string[];
}

/** Which tokens an export takes: named ones, one person's, or every token. */
export type ExportSelection = { readonly serials: readonly string[] } | { readonly owner: string } | { readonly all: true };

export interface SeedExportResult {
  readonly format: SeedFileFormat;
  /** Whether seeds are in the clear (every format but an encrypted PSKC). */
  readonly plain: boolean;
  readonly serials: readonly string[];
  /** The file's text. */
  readonly file: string;
}

/** The HTTP status each whole-file refusal is answered with. */
const STATUS: Partial<Record<SeedFileError['code'], number>> = { NV_SEED_FILE_TOO_LARGE: 413, NV_EXPORT_UNSUPPORTED: 422 };

/** A seed file's refusal as the server's coded error (its message never holds a seed, a password or a key). */
function coded(error: unknown): unknown {
  return error instanceof SeedFileError ? new CodedError(error.code, error.message, STATUS[error.code] ?? 400) : error;
}

const PAGE = 1000;

/** A file none of whose keys the rules let in: refused with their code when they share one (figure 4: NV_KEY_DERIVED). */
function nothingImports(refused: readonly KeyRefusal[]): CodedError {
  const codes = [...new Set(refused.map((r) => r.code))];
  const list = refused.map((r) => `${r.source}: ${r.message}`).join('; ');
  return new CodedError(codes.length === 1 ? codes[0]! : 'NV_SEED_FILE_NOTHING_IMPORTS', `no key of the file can be imported (${list}); nothing was imported`, 422);
}

export class SeedTransfer {
  constructor(
    private readonly store: TokenStore,
    private readonly vault: SeedVault,
    private readonly options: { readonly allowExport: boolean; readonly owners?: OwnerDirectory; readonly now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async import(request: SeedImportRequest, actor: Actor): Promise<SeedImportReport> {
    let parsed: SeedFileImport;
    try {
      parsed = importSeedFile(request.content, {
        fileName: request.fileName,
        format: request.format,
        password: request.password,
        key: request.key,
        allowShortSeed: request.allowShortSeed,
        now: this.now(),
      });
    } catch (error) {
      throw coded(error);
    }
    try {
      const reports: ImportedTokenReport[] = [];
      for (const token of parsed.tokens) {
        const owner = token.user === null ? null : ((await this.options.owners?.resolve(token.user)) ?? null);
        const existing = await this.store.getToken(token.serial);
        if (existing && !request.replace) {
          throw new CodedError('NV_SERIAL_EXISTS', `a token with serial ${token.serial} (${token.source}) is already on the server; nothing was imported (--replace puts the file's in its place)`, 409);
        }
        const notes = [...dryRunRow(token).notes];
        if (token.user !== null && owner === null) notes.push(`its user ${JSON.stringify(token.user.slice(0, 64))} is nobody the login service knows: imported without an owner`);
        if (token.validUntil !== null) notes.push('its expiry date is not kept: the server has no expiry for a token');
        if (existing) notes.push(`it replaces the token ${token.serial} already on the server`);
        reports.push({ ...dryRunRow(token), notes, owner, replaces: existing !== undefined });
      }
      const base = { format: parsed.format, dryRun: request.dryRun, tokens: reports, refused: parsed.refused, notes: parsed.notes };
      if (request.dryRun) return { ...base, imported: 0 };
      if (parsed.tokens.length === 0) throw nothingImports(parsed.refused);
      const at = this.now();
      const records: NewToken[] = parsed.tokens.map((token, i) => ({
        serial: token.serial,
        kind: token.kind,
        algorithm: token.algorithm,
        digits: token.digits,
        period: token.kind === 'totp' ? token.period : 0,
        counter: token.kind === 'hotp' ? token.counter : 0,
        lastStep: -1,
        driftSteps: 0,
        state: 'active',
        failCount: 0,
        owner: reports[i]!.owner,
        sealedSeed: this.vault.seal('seed', token.serial, token.seed),
      }));
      const audits = reports.map((report) =>
        this.audit(actor, 'import', report.serial, 'ok', { format: parsed.format, kind: report.kind, algorithm: report.algorithm, digits: report.digits, owner: report.owner, replaced: report.replaces }, at),
      );
      try {
        await this.store.importTokens(records, audits, { replace: request.replace });
      } catch (error) {
        if (error instanceof DuplicateSerialError) throw new CodedError('NV_SERIAL_EXISTS', `${error.message}; nothing was imported`, 409);
        throw error;
      }
      return { ...base, imported: records.length };
    } finally {
      wipeSeeds(parsed);
    }
  }

  async export(selection: ExportSelection, format: ExportOptions, actor: Actor): Promise<SeedExportResult> {
    if (!this.options.allowExport) {
      throw new CodedError('NV_EXPORT_OFF', 'exporting seeds is off on this server: start it with --allow-export to let an administrator export them', 403);
    }
    const records = await this.select(selection);
    if (records.length === 0) throw new CodedError('NV_EXPORT_EMPTY', 'no token matches: nothing to export', 404);
    const tokens: ExportToken[] = records.map((record) => ({
      serial: record.serial,
      kind: record.kind,
      algorithm: record.algorithm,
      digits: record.digits,
      counter: record.kind === 'hotp' ? record.counter : 0,
      period: record.kind === 'totp' ? record.period : 0,
      seed: this.vault.open('seed', record.serial, record.sealedSeed),
      user: record.owner,
      validUntil: null,
    }));
    let file: string;
    try {
      file = exportSeedFile(tokens, format);
    } catch (error) {
      throw coded(error);
    } finally {
      for (const token of tokens) token.seed.fill(0);
    }
    const plain = exportIsPlain(format);
    const at = this.now();
    const serials = records.map((record) => record.serial);
    await this.store.markExported(serials, at, serials.map((serial) => this.audit(actor, 'export', serial, 'ok', { format: format.format, plain }, at)));
    return { format: format.format, plain, serials, file };
  }

  private async select(selection: ExportSelection): Promise<TokenRecord[]> {
    if ('serials' in selection) {
      const found: TokenRecord[] = [];
      for (const serial of selection.serials) {
        const record = await this.store.getToken(serial);
        if (!record) throw new CodedError('NV_UNKNOWN_SERIAL', `no token with serial ${serial}; nothing was exported`, 404);
        found.push(record);
      }
      return found;
    }
    const owner = 'owner' in selection ? ((await this.options.owners?.resolve(selection.owner)) ?? selection.owner) : undefined;
    const all: TokenRecord[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.store.listTokens({ owner, limit: PAGE, offset });
      all.push(...page);
      if (page.length < PAGE) return all;
    }
  }

  private audit(actor: Actor, action: string, serial: string, result: string, detail: NewAuditEntry['detail'], at: number): NewAuditEntry {
    return auditEntry(actor, action, serial, result, detail, at, 'token');
  }
}
