/**
 * The RADIUS clients file (`server --radius-clients FILE`): a JSON array of
 * `{"name": "vpn", "address": "10.0.0.0/24", "secret": "…"}`, one entry per client (a VPN
 * concentrator, an appliance), each with its own shared secret. Kept mode 0600 like any file of
 * secrets; its secrets are never printed.
 */
import fs from 'node:fs';
import net from 'node:net';
import { CodedError } from '../../protocol/coded-error.ts';
import type { RadiusClientConfig } from './front.ts';

/** RFC 2865 section 3 asks for at least 16 octets of shared secret. */
export const MIN_SECRET_OCTETS = 16;

const bad = (file: string, why: string) => new CodedError('NV_BAD_RADIUS_CLIENTS', `${file}: ${why}`);

export function parseRadiusClients(text: string, file: string): RadiusClientConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(file, 'not JSON; give an array of {"name","address","secret"}');
  }
  if (!Array.isArray(value) || value.length === 0) throw bad(file, 'give a non-empty array of {"name","address","secret"}');
  return value.map((entry: unknown, i) => {
    const where = `client ${i + 1}`;
    if (typeof entry !== 'object' || entry === null) throw bad(file, `${where} is not an object`);
    const { name, address, secret, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw bad(file, `${where} has a field this server does not know: "${Object.keys(rest)[0]!.slice(0, 20)}"`);
    if (typeof name !== 'string' || !/^[\w.-]{1,64}$/.test(name)) throw bad(file, `${where} needs a "name" of 1-64 letters, digits, . _ -`);
    const [ip = '', prefix] = typeof address === 'string' ? address.split('/') : [];
    if (!net.isIP(ip) || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (net.isIPv6(ip) ? 128 : 32)))) {
      throw bad(file, `${where} (${name}) needs an "address": an IP address or a network in CIDR notation`);
    }
    if (typeof secret !== 'string' || Buffer.byteLength(secret) < MIN_SECRET_OCTETS) throw bad(file, `${where} (${name}) needs a "secret" of at least ${MIN_SECRET_OCTETS} octets`);
    return { name, address: address as string, secret };
  });
}

export function readRadiusClients(file: string): RadiusClientConfig[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw bad(file, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseRadiusClients(text, file);
}
