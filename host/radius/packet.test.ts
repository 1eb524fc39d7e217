import crypto from 'node:crypto';
import radius from 'radius';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE, RadiusPacketError, readAccessRequest, writeAnswer, type AccessRequest } from './packet.ts';

const SECRET = Buffer.from('xyzzy5461-shared-secret');

/** RFC 2865 section 5.2, written out here independently of the radius package. */
function hidePassword(password: string, authenticator: Buffer, secret: Buffer): Buffer {
  const plain = Buffer.alloc(Math.max(16, Math.ceil(Buffer.byteLength(password) / 16) * 16));
  plain.write(password);
  const out = Buffer.alloc(plain.length);
  let previous = authenticator;
  for (let at = 0; at < plain.length; at += 16) {
    const b = crypto.createHash('md5').update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) out[at + i] = plain[at + i]! ^ b[i]!;
    previous = out.subarray(at, at + 16);
  }
  return out;
}

/** An Access-Request as a client writes it, with a Message-Authenticator unless told otherwise. */
function request(options: { user?: string; password?: string; state?: Buffer; withMa?: boolean; secret?: Buffer; code?: number; extra?: Buffer[] } = {}): Buffer {
  const secret = options.secret ?? SECRET;
  const authenticator = crypto.randomBytes(16);
  const attr = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length + 2]), value]);
  const parts: Buffer[] = [attr(ATTRIBUTE.userName, Buffer.from(options.user ?? 'alice')), attr(ATTRIBUTE.userPassword, hidePassword(options.password ?? 'secret123456', authenticator, secret))];
  if (options.state) parts.push(attr(ATTRIBUTE.state, options.state));
  parts.push(...(options.extra ?? []));
  if (options.withMa !== false) parts.push(attr(ATTRIBUTE.messageAuthenticator, Buffer.alloc(16)));
  const body = Buffer.concat(parts);
  const packet = Buffer.concat([Buffer.from([options.code ?? 1, 42, 0, 0]), authenticator, body]);
  packet.writeUInt16BE(packet.length, 2);
  if (options.withMa !== false) crypto.createHmac('md5', secret).update(packet).digest().copy(packet, packet.length - 16);
  return packet;
}

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof RadiusPacketError) return error.problem;
    throw error;
  }
  return 'none';
}

describe('reading an Access-Request', () => {
  it('decrypts the User-Password (RFC 2865 section 5.2), also past one 16-octet block, and reads User-Name and State', () => {
    const read = readAccessRequest(request({ user: 'jens', password: 'correct horse 12345678', state: Buffer.from('txn') }), SECRET);
    expect(read).toMatchObject({ identifier: 42, userName: 'jens', password: 'correct horse 12345678' });
    expect(read.state?.toString()).toBe('txn');
  });

  it('refuses a request without a Message-Authenticator (BlastRADIUS), whatever else is right', () => {
    expect(problem(() => readAccessRequest(request({ withMa: false }), SECRET))).toBe('no_message_authenticator');
  });

  it('refuses a wrong Message-Authenticator: one byte changed, or made under another secret', () => {
    const changed = request();
    changed[changed.length - 1]! ^= 1;
    expect(problem(() => readAccessRequest(changed, SECRET))).toBe('bad_message_authenticator');
    expect(problem(() => readAccessRequest(request({ secret: Buffer.from('another-secret') }), SECRET))).toBe('bad_message_authenticator');
  });

  it("compares the Message-Authenticator's bytes: one that differs but reads as the same UTF-8 text (which the radius package lets through) is refused", () => {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const good = request();
      const ma = good.subarray(good.length - 16);
      const forgedMa = Buffer.from(ma.map((b) => (b >= 0x80 ? 0xff : b)));
      if (forgedMa.equals(ma) || forgedMa.toString('utf8') !== Buffer.from(ma).toString('utf8')) continue;
      const forged = Buffer.from(good);
      forgedMa.copy(forged, forged.length - 16);
      expect(() => radius.decode({ packet: Buffer.from(forged), secret: SECRET })).not.toThrow();
      expect(problem(() => readAccessRequest(forged, SECRET))).toBe('bad_message_authenticator');
      return;
    }
    throw new Error('no Message-Authenticator found whose bytes could differ under the same UTF-8 text');
  });

  it('drops what is malformed: too short, a length past the datagram, an attribute past the packet, two Message-Authenticators, no User-Name', () => {
    expect(problem(() => readAccessRequest(Buffer.alloc(10), SECRET))).toBe('malformed');
    const long = request();
    long.writeUInt16BE(long.length + 10, 2);
    expect(problem(() => readAccessRequest(long, SECRET))).toBe('malformed');
    const overrun = request();
    overrun[21] = 200; // User-Name's length
    expect(problem(() => readAccessRequest(overrun, SECRET))).toBe('malformed');
    const twice = request({ extra: [Buffer.concat([Buffer.from([ATTRIBUTE.messageAuthenticator, 18]), Buffer.alloc(16)])] });
    expect(problem(() => readAccessRequest(twice, SECRET))).toBe('malformed');
    expect(problem(() => readAccessRequest(request({ user: '' }), SECRET))).toBe('malformed');
  });

  it('drops what is not an Access-Request', () => {
    expect(problem(() => readAccessRequest(request({ code: 4 }), SECRET))).toBe('not_access_request');
  });
});

describe('writing an answer', () => {
  const req: AccessRequest = { identifier: 7, authenticator: crypto.randomBytes(16), userName: 'alice', password: 'x', state: undefined, proxyStates: [Buffer.from('proxy-1'), Buffer.from('proxy-2')] };

  it('puts the Message-Authenticator first, keyed over the answer with the request authenticator (RFC 3579 3.2), and a Response Authenticator over it all (RFC 2865 3)', () => {
    const answer = writeAnswer(req, { code: 'Access-Challenge', message: 'Enter the key for number 4711', state: Buffer.from('txn-9') }, SECRET);
    expect(answer[0]).toBe(11);
    expect(answer[1]).toBe(7);
    expect(answer.readUInt16BE(2)).toBe(answer.length);
    expect([answer[20], answer[21]]).toEqual([ATTRIBUTE.messageAuthenticator, 18]);

    const withRequestAuth = Buffer.from(answer);
    req.authenticator.copy(withRequestAuth, 4);
    const responseAuth = crypto.createHash('md5').update(withRequestAuth).update(SECRET).digest();
    expect(answer.subarray(4, 20)).toEqual(responseAuth);
    const ma = Buffer.from(withRequestAuth.subarray(22, 38));
    withRequestAuth.fill(0, 22, 38);
    expect(ma).toEqual(crypto.createHmac('md5', SECRET).update(withRequestAuth).digest());
  });

  it('carries the Reply-Message (split at 253 octets), the State and every Proxy-State in order', () => {
    const message = 'x'.repeat(300);
    const answer = writeAnswer(req, { code: 'Access-Challenge', message, state: Buffer.from('txn-9') }, SECRET);
    const attributes: Array<[number, string]> = [];
    for (let at = 20; at < answer.length; at += answer[at + 1]!) attributes.push([answer[at]!, answer.subarray(at + 2, at + answer[at + 1]!).toString()]);
    expect(attributes.map(([type]) => type)).toEqual([80, 18, 18, 24, 33, 33]);
    expect(attributes[1]![1] + attributes[2]![1]).toBe(message);
    expect(attributes.slice(3).map(([, v]) => v)).toEqual(['txn-9', 'proxy-1', 'proxy-2']);
  });
});
