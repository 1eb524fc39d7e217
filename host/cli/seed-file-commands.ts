/**
 * `noegleviser token import FILE` and `token export`: seed files in and out of the server through
 * its admin API. A PSKC's password or key is read from a file or standard input, never taken on
 * the command line (shells remember command lines); seeds are never printed, only written to the
 * export file (or standard output, when no --out is given).
 */
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { hexToBytes } from '../../protocol/bytes.ts';
import type { ImportAnswer } from '../api/seed-files.ts';
import { SEED_FILE_FORMATS, type SeedFileFormat } from '../seed-files/types.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { usageError } from './errors.ts';
import { columns, createOutput } from './output.ts';
import { requireServer, type ServerCliOptions } from './server-options.ts';

type Sub = (name: string, description: string) => Command;

interface SecretOptions {
  passwordFile?: string;
  keyFile?: string;
}

function readSecretFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    throw usageError('NV_BAD_ARGUMENT', `cannot read the ${what} from ${file === '-' ? 'standard input' : file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The password (its file's first line) and the key (hex) a PSKC is opened or sealed with; never echoed. */
function secrets(o: SecretOptions): { password?: string; key?: string } {
  if (o.passwordFile !== undefined && o.keyFile !== undefined) throw usageError('NV_BAD_ARGUMENT', 'give --password-file or --key-file, not both');
  if (o.passwordFile !== undefined) {
    const password = readSecretFile(o.passwordFile, 'password').toString('utf8').split(/\r?\n/)[0] ?? '';
    if (password === '') throw usageError('NV_BAD_ARGUMENT', `the password from ${o.passwordFile === '-' ? 'standard input' : o.passwordFile} is empty`);
    return { password };
  }
  if (o.keyFile !== undefined) {
    const text = readSecretFile(o.keyFile, 'key').toString('utf8').replace(/\s/g, '');
    const key = hexToBytes(text);
    if (!key || ![16, 24, 32].includes(key.length)) throw usageError('NV_BAD_ARGUMENT', 'the key file must hold a hex AES key of 16, 24 or 32 bytes');
    key.fill(0);
    return { key: text };
  }
  return {};
}

const secretOptions = (command: Command): Command =>
  command
    .addOption(new Option('--password-file <file>', "a PSKC's password: the first line of FILE, or of standard input with -"))
    .addOption(new Option('--key-file <file>', "a PSKC's pre-shared AES key, in hex: FILE, or standard input with -"));

function importRows(answer: ImportAnswer): string[] {
  const rows = answer.tokens.map((t) => [
    t.serial,
    `${t.kind.toUpperCase()} ${t.algorithm.toUpperCase()} ${t.digits}`,
    t.kind === 'hotp' ? `counter ${t.counter}` : `period ${t.period}s`,
    t.owner ?? '-',
    t.notes.join('; '),
  ]);
  const lines = rows.length > 0 ? columns(['SERIAL', 'KIND', 'COUNTER / PERIOD', 'OWNER', 'NOTES'], rows) : [];
  for (const r of answer.refused) lines.push(`refused: ${r.source}${r.serial ? ` (${r.serial})` : ''}: ${r.message} [${r.code}]`);
  for (const note of answer.notes) lines.push(`note: ${note}`);
  lines.push(answer.dryRun ? `dry run: ${answer.tokens.length} token(s) would be imported, nothing was` : `${answer.imported} token(s) imported from the ${answer.format} file`);
  return lines;
}

export function addSeedFileCommands(sub: Sub): void {
  secretOptions(sub('import', 'import a seed file (PSKC, otpauth URIs, oathcsv, users.oath): every token of it, or none'))
    .argument('<file>', 'the seed file')
    .addOption(new Option('--format <format>', 'the file\'s format (else told from its name, then its content)').choices([...SEED_FILE_FORMATS]))
    .addOption(new Option('--dry-run', 'list what would be imported (never a seed), import nothing'))
    .addOption(new Option('--replace', 'a token whose serial is on the server already takes its place'))
    .addOption(new Option('--allow-short-seed', 'take seeds under 16 bytes too'))
    .action(async (file: string, o: ServerCliOptions & SecretOptions & { json?: boolean; format?: SeedFileFormat; dryRun?: boolean; replace?: boolean; allowShortSeed?: boolean }) => {
      let content: Buffer;
      try {
        content = fs.readFileSync(file);
      } catch (error) {
        throw usageError('NV_BAD_ARGUMENT', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const answer = await requireServer(o).importSeedFile({
        file: content.toString('base64'),
        fileName: file,
        ...(o.format ? { format: o.format } : {}),
        ...secrets(o),
        dryRun: Boolean(o.dryRun),
        replace: Boolean(o.replace),
        allowShortSeed: Boolean(o.allowShortSeed),
      });
      content.fill(0);
      createOutput(Boolean(o.json)).result(answer, () => importRows(answer));
    });

  secretOptions(sub('export', 'export tokens to a seed file (the server must run with --allow-export): encrypted PSKC unless --plain'))
    .argument('[serials...]', 'the tokens to export')
    .addOption(new Option('--owner <person>', "a person's tokens (NemID number or user-id)"))
    .addOption(new Option('--all', 'every token'))
    .addOption(new Option('--format <format>', 'the file format').choices([...SEED_FILE_FORMATS]).default('pskc'))
    .addOption(new Option('--plain', 'seeds in the clear: needed for otpauth, oathcsv and users.oath, which cannot be encrypted'))
    .addOption(new Option('--flag-seven-digits', 'otpauth: write a 7-digit token with a comment instead of refusing'))
    .addOption(new Option('--out <file>', 'write the file here (mode 0600) instead of standard output'))
    .action(async (serials: string[], o: ServerCliOptions & SecretOptions & { json?: boolean; owner?: string; all?: boolean; format: SeedFileFormat; plain?: boolean; flagSevenDigits?: boolean; out?: string }) => {
      const chosen = [serials.length > 0, o.owner !== undefined, Boolean(o.all)].filter(Boolean).length;
      if (chosen !== 1) throw usageError('NV_BAD_ARGUMENT', 'name what to export: serials, --owner PERSON or --all (one of them)');
      const output = createOutput(Boolean(o.json));
      const answer = await requireServer(o).exportSeedFile({
        format: o.format,
        ...(serials.length > 0 ? { serials } : o.owner !== undefined ? { owner: o.owner } : { all: true as const }),
        ...secrets(o),
        ...(o.plain ? { plain: true } : {}),
        ...(o.flagSevenDigits ? { flagSevenDigits: true } : {}),
      });
      if (answer.plain) output.note(`the ${answer.format} file holds ${answer.serials.length} seed(s) in the clear: whoever reads it can make their codes; keep it like a password and delete it once used`);
      output.note(`${answer.serials.length} token(s) marked as exported on the server: another verifier may now accept their codes too`);
      if (o.out !== undefined) {
        writeExportFile(o.out, answer.file);
        output.result({ format: answer.format, plain: answer.plain, serials: answer.serials, out: o.out }, () => [`${answer.serials.length} token(s) written to ${o.out}`]);
      } else if (o.json) {
        output.result(answer, () => []);
      } else {
        process.stdout.write(answer.file);
      }
    });
}

/** The export file, readable by its owner only (it holds seeds). */
function writeExportFile(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
  } catch (error) {
    throw new CodedError('NV_WRITE_FAILED', `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
