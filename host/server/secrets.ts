/**
 * The server's own secrets: the master key that seals seeds, and the API keys. The master key
 * comes from NOEGLEVISER_MASTER_KEY (64 hex digits), or a file (NOEGLEVISER_MASTER_KEY_FILE, else
 * master.key in the data directory) created with mode 0600 on the first start of a store that has
 * sealed nothing yet; every node of a cluster is given the same one. API keys are stored
 * as SHA-256 hashes only; new ones are shown once, when they are made.
 */
import { hash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CodedError } from '../../protocol/coded-error.ts';
import { whyNot } from '../store/private-files.ts';
import { MASTER_KEY_BYTES } from './seed-vault.ts';
import type { ApiKeyRecord, TokenStore } from './store/types.ts';

export type Role = 'admin' | 'client';

export interface MasterKeySource {
  readonly key: Uint8Array;
  /** Where it came from, for the start-up log (never the key). */
  readonly origin: string;
  readonly created: boolean;
}

/** Where the master key file is: NOEGLEVISER_MASTER_KEY_FILE, else master.key in the data directory. */
export function masterKeyFile(dataDir: string, env: NodeJS.ProcessEnv): string {
  return env.NOEGLEVISER_MASTER_KEY_FILE || path.join(dataDir, 'master.key');
}

/** The master key this node was given (NOEGLEVISER_MASTER_KEY, else its key file), or undefined when it has none yet. */
export function findMasterKey(dataDir: string, env: NodeJS.ProcessEnv): MasterKeySource | undefined {
  if (env.NOEGLEVISER_MASTER_KEY) {
    return { key: parseMasterKey(env.NOEGLEVISER_MASTER_KEY, 'NOEGLEVISER_MASTER_KEY'), origin: 'environment', created: false };
  }
  const file = masterKeyFile(dataDir, env);
  try {
    if (!fs.existsSync(file)) return undefined;
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) throw new CodedError('NV_MASTER_KEY_EXPOSED', `${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`, 500);
    return { key: parseMasterKey(fs.readFileSync(file, 'utf8'), file), origin: file, created: false };
  } catch (error) {
    throw masterKeyFileFailure(file, error);
  }
}

/** A new master key in the key file (mode 0600): only for a store that has sealed nothing yet. */
export function createMasterKey(dataDir: string, env: NodeJS.ProcessEnv): MasterKeySource {
  const file = masterKeyFile(dataDir, env);
  try {
    const key = randomBytes(MASTER_KEY_BYTES);
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return { key: new Uint8Array(key), origin: file, created: true };
  } catch (error) {
    throw masterKeyFileFailure(file, error);
  }
}

function masterKeyFileFailure(file: string, error: unknown): CodedError {
  if (error instanceof CodedError) return error;
  return new CodedError('NV_MASTER_KEY_FILE', `the master key file ${file} cannot be read or written (${whyNot(error as NodeJS.ErrnoException)})`, 500);
}

function parseMasterKey(text: string, origin: string): Uint8Array {
  const hex = text.trim();
  if (!new RegExp(`^[0-9a-fA-F]{${MASTER_KEY_BYTES * 2}}$`).test(hex)) {
    throw new CodedError('NV_MASTER_KEY_INVALID', `the master key in ${origin} is not ${MASTER_KEY_BYTES * 2} hex digits`, 500);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function hashKey(key: string): string {
  return hash('sha256', key, 'hex'); // one call: it runs on every request
}

export function newApiKey(role: Role): string {
  return `nv_${role}_${randomBytes(24).toString('base64url')}`;
}

export interface Principal {
  readonly id: string;
  readonly role: Role;
}

export class ApiKeys {
  private constructor(private readonly byHash: Map<string, Principal>) {}

  /**
   * Loads the stored keys and adds those the operator set. When no key of a role exists at all,
   * one is made; it is returned in `created`, the only time it is ever seen. A made key works at
   * once but is stored only by `keepCreated()`, which the server calls once it listens and can show
   * the key: a start that fails before then leaves no key behind that nobody has seen.
   */
  static async load(
    store: TokenStore,
    given: Partial<Record<Role, string>>,
    now = Date.now(),
  ): Promise<{ keys: ApiKeys; created: Partial<Record<Role, string>>; keepCreated(): Promise<void> }> {
    const created: Partial<Record<Role, string>> = {};
    const stored = await store.listApiKeys();
    const unsaved: ApiKeyRecord[] = [];
    const record = (role: Role, key: string): ApiKeyRecord | undefined => {
      const hash = hashKey(key);
      return stored.some((known) => known.hash === hash) ? undefined : { id: `${role}-${hash.slice(0, 8)}`, role, hash, createdAt: now };
    };
    for (const role of ['admin', 'client'] as const) {
      const key = given[role];
      if (key !== undefined) {
        if (key.length < 16) throw new CodedError('NV_API_KEY_WEAK', `the ${role} API key must be at least 16 characters`, 500);
        const operators = record(role, key);
        if (operators) {
          await store.insertApiKey(operators);
          stored.push(operators);
        }
      } else if (!stored.some((known) => known.role === role)) {
        created[role] = newApiKey(role);
        unsaved.push(record(role, created[role])!);
      }
    }
    const keys = new ApiKeys(new Map([...stored, ...unsaved].map((known) => [known.hash, { id: known.id, role: known.role }])));
    const keepCreated = async () => {
      for (const made of unsaved.splice(0)) await store.insertApiKey(made);
    };
    return { keys, created, keepCreated };
  }

  /** The principal a bearer key stands for, if any. */
  authenticate(key: string | undefined): Principal | undefined {
    return key === undefined ? undefined : this.byHash.get(hashKey(key));
  }
}
