/**
 * The PostgreSQL connection setting, in libpq's URI form with several hosts (node-postgres reads
 * only one host: its issue #2781):
 *
 *     postgres://USER:PASSWORD@HOST1:PORT1,HOST2:PORT2/DATABASE?connect_timeout=5
 *     postgresql://USER@/DATABASE?host=HOST1,HOST2&port=PORT1,PORT2
 *
 * A host is a name, an IPv4 address, an IPv6 address in brackets, or a percent-encoded Unix socket
 * folder (`%2Fvar%2Frun%2Fpostgresql`); `port` in the query gives one port for all hosts or one
 * for each. Query parameters win over the same part of the URI, as in libpq. No error repeats any
 * part of the URL: a password with an unencoded '/', '?' or '@' could end up in another part.
 */
import { BadDatabaseSettingError } from '../store-errors.ts';

export const DEFAULT_PORT = 5432;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface PostgresEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface PostgresConnectionSettings {
  /** The hosts to try, in order. */
  readonly hosts: readonly PostgresEndpoint[];
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
  readonly applicationName: string | undefined;
  /** How long connecting to one host may take (libpq's `connect_timeout`, seconds in the URL). */
  readonly connectTimeoutMs: number;
}

/** A connection setting that cannot be used: a coded error naming what is wrong, never the password. */
export function badDatabaseUrl(what: string): BadDatabaseSettingError {
  return new BadDatabaseSettingError(`cannot use the PostgreSQL connection URL: ${what}`);
}

const SCHEME = /^postgres(?:ql)?:\/\//i;

/** The parameters understood in the query; target_session_attrs may only ask for what the probe finds anyway. */
const QUERY_PARAMETERS = new Set(['host', 'port', 'user', 'password', 'dbname', 'connect_timeout', 'application_name', 'target_session_attrs', 'sslmode']);

export function isPostgresUrl(text: string): boolean {
  return SCHEME.test(text);
}

export function parsePostgresUrl(url: string): PostgresConnectionSettings {
  const scheme = SCHEME.exec(url);
  if (!scheme) throw badDatabaseUrl('it does not start with postgres:// or postgresql://');
  const rest = url.slice(scheme[0].length);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = parseQuery(queryAt === -1 ? '' : rest.slice(queryAt + 1));
  // Everything before the last @ is the user and password, a '/' in an unencoded password included:
  // no part of it may end up in a host or port that an error repeats.
  const userAt = beforeQuery.lastIndexOf('@');
  const userInfo = userAt === -1 ? undefined : beforeQuery.slice(0, userAt);
  const afterUser = userAt === -1 ? beforeQuery : beforeQuery.slice(userAt + 1);
  const pathAt = afterUser.indexOf('/');
  const hostList = pathAt === -1 ? afterUser : afterUser.slice(0, pathAt);
  const databasePath = pathAt === -1 ? '' : afterUser.slice(pathAt + 1);
  let user: string | undefined;
  let password: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    user = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'the user name');
    password = colon === -1 ? undefined : decode(userInfo.slice(colon + 1), 'the password');
  }

  let hosts: { host: string; port: string | undefined }[] = hostList === '' ? [] : hostList.split(',').map(splitHostPort);
  const queryHosts = query.get('host');
  if (queryHosts !== undefined) hosts = queryHosts.split(',').map((host) => ({ host, port: undefined }));
  const queryPorts = query.get('port');
  if (queryPorts !== undefined) {
    const ports = queryPorts.split(',');
    if (ports.length !== 1 && ports.length !== hosts.length) throw badDatabaseUrl(`it names ${hosts.length} host(s) and ${ports.length} ports: give one port for all or one for each`);
    hosts = hosts.map((host, index) => ({ host: host.host, port: ports.length === 1 ? ports[0] : ports[index] }));
  }
  if (hosts.length === 0) throw badDatabaseUrl('it names no host');
  const endpoints = hosts.map(({ host, port }) => {
    if (host === '') throw badDatabaseUrl('a host in its list is empty');
    return { host, port: port === undefined || port === '' ? DEFAULT_PORT : parsePort(port) };
  });

  const attributes = query.get('target_session_attrs');
  if (attributes !== undefined && !['read-write', 'primary', 'any'].includes(attributes)) {
    throw badDatabaseUrl('its target_session_attrs asks for a standby: the store connects only to the primary (read-write, primary)');
  }
  const sslmode = query.get('sslmode');
  if (sslmode !== undefined && sslmode !== 'disable') throw badDatabaseUrl('its sslmode asks for TLS, which the store does not support yet (sslmode=disable)');

  const timeout = query.get('connect_timeout');
  let connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  if (timeout !== undefined) {
    if (!/^\d{1,6}$/.test(timeout) || Number(timeout) === 0) throw badDatabaseUrl('its connect_timeout is not a whole number of seconds above 0');
    connectTimeoutMs = Number(timeout) * 1000;
  }
  const database = query.get('dbname') ?? (databasePath === '' ? undefined : decode(databasePath, 'the database name'));
  return {
    hosts: endpoints,
    user: query.get('user') ?? user,
    password: query.get('password') ?? password,
    database,
    applicationName: query.get('application_name'),
    connectTimeoutMs,
  };
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`, a percent-encoded socket folder. */
function splitHostPort(part: string): { host: string; port: string | undefined } {
  if (part.startsWith('[')) {
    const end = part.indexOf(']');
    if (end === -1) throw badDatabaseUrl('a host in it opens a bracket it does not close');
    const after = part.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw badDatabaseUrl('a host in it has something after its bracket that is not a port');
    return { host: part.slice(1, end), port: after === '' ? undefined : after.slice(1) };
  }
  const colon = part.indexOf(':');
  const host = decode(colon === -1 ? part : part.slice(0, colon), 'a host');
  return { host, port: colon === -1 ? undefined : part.slice(colon + 1) };
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw badDatabaseUrl('a port in it is not a number from 1 to 65535');
  return port;
}

function parseQuery(query: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decode(equals === -1 ? pair : pair.slice(0, equals), 'a parameter name');
    if (!QUERY_PARAMETERS.has(name)) throw badDatabaseUrl(`it has a parameter the store does not know (it knows ${[...QUERY_PARAMETERS].join(', ')})`);
    parameters.set(name, equals === -1 ? '' : decode(pair.slice(equals + 1), 'a parameter'));
  }
  return parameters;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw badDatabaseUrl(`${what} in it is not well percent-encoded`);
  }
}
