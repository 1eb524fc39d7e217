import { describe, expect, it } from 'vitest';
import { BadDatabaseSettingError } from '../store-errors.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, isPostgresUrl, parsePostgresUrl } from './connection-url.ts';

function refusal(url: string): BadDatabaseSettingError {
  try {
    parsePostgresUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(BadDatabaseSettingError);
    return error as BadDatabaseSettingError;
  }
  throw new Error(`${url} was accepted`);
}

describe('the PostgreSQL connection URL, in libpq multi-host form', () => {
  it('several hosts in the authority, each with its port, in order, with the user, password and database decoded', () => {
    expect(parsePostgresUrl('postgres://nv%40bank:p%2Fss%3Aw@db1.example:5433,10.0.0.2:6432,db3/noeglevis%C3%A9r')).toEqual({
      hosts: [
        { host: 'db1.example', port: 5433 },
        { host: '10.0.0.2', port: 6432 },
        { host: 'db3', port: 5432 },
      ],
      user: 'nv@bank',
      password: 'p/ss:w',
      database: 'noeglevisér',
      applicationName: undefined,
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    });
  });

  it('IPv6 addresses in brackets, with and without a port, and a percent-encoded Unix socket folder', () => {
    expect(parsePostgresUrl('postgresql://u@[::1]:5433,[fd00::2],%2Fvar%2Frun%2Fpostgresql/db').hosts).toEqual([
      { host: '::1', port: 5433 },
      { host: 'fd00::2', port: 5432 },
      { host: '/var/run/postgresql', port: 5432 },
    ]);
  });

  it('host and port lists in the query win over the authority; one port serves every host', () => {
    expect(parsePostgresUrl('postgres://u:p@/db?host=a,b&port=7000,7001').hosts).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ]);
    expect(parsePostgresUrl('postgres://u:p@ignored:1/db?host=a,b,c&port=7000').hosts).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7000 },
      { host: 'c', port: 7000 },
    ]);
    const settings = parsePostgresUrl('postgres://h/db?user=x&password=y&dbname=z&connect_timeout=2&application_name=node-a&target_session_attrs=read-write&sslmode=disable');
    expect(settings).toMatchObject({ user: 'x', password: 'y', database: 'z', connectTimeoutMs: 2000, applicationName: 'node-a' });
  });

  it('tells a postgres:// URL from a file path', () => {
    expect(isPostgresUrl('postgres://h/db')).toBe(true);
    expect(isPostgresUrl('POSTGRESQL://h/db')).toBe(true);
    expect(isPostgresUrl('/var/lib/noegleviser/server.db')).toBe(false);
    expect(isPostgresUrl('postgres:/h')).toBe(false);
  });

  it.each([
    ['mysql://h/db', /does not start with postgres:\/\//],
    ['postgres:///db', /names no host/],
    ['postgres://a,,b/db', /a host in its list is empty/],
    ['postgres://a:0/db', /a port in it is not a number from 1 to 65535/],
    ['postgres://a:65536/db', /a port in it is not a number from 1 to 65535/],
    ['postgres://a:54x/db', /a port in it is not a number/],
    ['postgres://[::1/db', /opens a bracket it does not close/],
    ['postgres://[::1]x/db', /after its bracket that is not a port/],
    ['postgres://a,b,c/db?port=1,2', /names 3 host\(s\) and 2 ports/],
    ['postgres://a/db?connect_timeout=0', /connect_timeout is not a whole number of seconds above 0/],
    ['postgres://a/db?connect_timeout=1.5', /connect_timeout/],
    ['postgres://a/db?target_session_attrs=standby', /connects only to the primary/],
    ['postgres://a/db?sslmode=require', /TLS/],
    ['postgres://a/db?sslcert=x', /a parameter the store does not know/],
    ['postgres://a/%E0%A4%A', /the database name in it is not well percent-encoded/],
  ])('%s is refused: NV_BAD_DB, saying what is wrong', (url, reason) => {
    const error = refusal(url);
    expect(error.code).toBe('NV_BAD_DB');
    expect(error.message).toMatch(reason);
    expect(error.message).not.toContain('\n');
  });

  it('no refusal repeats any part of the password, wherever an unencoded / ? or @ in it lands', () => {
    const secret = 'Zq7secretWx';
    const urls = [
      `postgres://u:${secret}/x@h:0/db`,
      `postgres://u:${secret}?x@h/db`,
      `postgres://u:${secret}?`,
      `postgres://u:${secret}`,
      `postgres://u:pa:${secret}@h:99999/db`,
      `postgres://u:a/${secret}:b@h:x/db`,
      `postgres://u:%zz${secret}@h/db`,
      `postgres://u@h/db?password=${secret}&sslmode=${secret}`,
      `postgres://u@h/db?${secret}=1`,
      `postgres://u:${secret}@h:1,h/db?port=1,2,3`,
    ];
    for (const url of urls) {
      const error = refusal(url);
      expect(error.message, url).not.toContain(secret.slice(0, 5));
    }
  });
});
