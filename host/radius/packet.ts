/**
 * RADIUS packets for the front (RFC 2865, with RFC 3579's Message-Authenticator): an
 * Access-Request read and checked, an Access-Accept/Reject/Challenge written. The `radius`
 * package decodes the attributes and the User-Password (RFC 2865 section 5.2) and encodes the
 * attributes of an answer; what it lacks is added here:
 *
 * - it checks a request's Message-Authenticator only when one is present, and compares it as
 *   UTF-8 text (different bytes can compare equal); here it is required and compared in constant time;
 * - it appends the Message-Authenticator to an answer as the last attribute; here it is the
 *   first (the BlastRADIUS mitigation, CVE-2024-3596: an attacker's chosen MD5 prefix cannot
 *   then precede it);
 * - it does not check the packet's structure before reading it; here a length that disagrees,
 *   an attribute that overruns the packet, or a second Message-Authenticator is malformed.
 */
import crypto from 'node:crypto';
import radius from 'radius';

export const CODE = { accessRequest: 1, accessAccept: 2, accessReject: 3, accessChallenge: 11 } as const;
export const ATTRIBUTE = { userName: 1, userPassword: 2, chapPassword: 3, replyMessage: 18, state: 24, proxyState: 33, messageAuthenticator: 80 } as const;

const HEADER = 20;
const MAX_PACKET = 4096;
const MA_LENGTH = 16;

export type RequestProblem = 'malformed' | 'not_access_request' | 'no_message_authenticator' | 'bad_message_authenticator';

export class RadiusPacketError extends Error {
  constructor(readonly problem: RequestProblem) {
    super(problem);
    this.name = 'RadiusPacketError';
  }
}

export interface AccessRequest {
  readonly identifier: number;
  readonly authenticator: Buffer;
  readonly userName: string;
  /** The User-Password, decrypted; undefined for a CHAP request (which cannot carry a one-time code). */
  readonly password: string | undefined;
  /** The State of an answer to an Access-Challenge. */
  readonly state: Buffer | undefined;
  /** Proxy-State attributes, returned unchanged in the answer (RFC 2865 section 5.33). */
  readonly proxyStates: readonly Buffer[];
}

interface RawAttribute {
  readonly type: number;
  /** Where the value starts in the packet. */
  readonly at: number;
  readonly value: Buffer;
}

function attributesOf(packet: Buffer, length: number): RawAttribute[] {
  const attributes: RawAttribute[] = [];
  let at = HEADER;
  while (at < length) {
    if (at + 2 > length) throw new RadiusPacketError('malformed');
    const type = packet[at]!;
    const size = packet[at + 1]!;
    if (size < 2 || at + size > length) throw new RadiusPacketError('malformed');
    attributes.push({ type, at: at + 2, value: packet.subarray(at + 2, at + size) });
    at += size;
  }
  return attributes;
}

/**
 * Reads an Access-Request under the client's shared secret. Throws RadiusPacketError for
 * anything to drop: a malformed packet, another code, no Message-Authenticator or a wrong one.
 */
export function readAccessRequest(datagram: Buffer, secret: Buffer): AccessRequest {
  if (datagram.length < HEADER) throw new RadiusPacketError('malformed');
  const length = datagram.readUInt16BE(2);
  if (length < HEADER || length > MAX_PACKET || length > datagram.length) throw new RadiusPacketError('malformed');
  const packet = Buffer.from(datagram.subarray(0, length)); // octets past Length are padding (RFC 2865 section 3)
  const attributes = attributesOf(packet, length);
  if (packet[0] !== CODE.accessRequest) throw new RadiusPacketError('not_access_request');

  const authenticators = attributes.filter((a) => a.type === ATTRIBUTE.messageAuthenticator);
  if (authenticators.length === 0) throw new RadiusPacketError('no_message_authenticator');
  if (authenticators.length > 1 || authenticators[0]!.value.length !== MA_LENGTH) throw new RadiusPacketError('malformed');
  const given = Buffer.from(authenticators[0]!.value);
  const zeroed = Buffer.from(packet);
  zeroed.fill(0, authenticators[0]!.at, authenticators[0]!.at + MA_LENGTH);
  const expected = crypto.createHmac('md5', secret).update(zeroed).digest();
  if (!crypto.timingSafeEqual(given, expected)) throw new RadiusPacketError('bad_message_authenticator');

  const single = (type: number): Buffer | undefined => {
    const found = attributes.filter((a) => a.type === type);
    if (found.length > 1) throw new RadiusPacketError('malformed');
    return found[0]?.value;
  };
  const userName = single(ATTRIBUTE.userName);
  const encryptedPassword = single(ATTRIBUTE.userPassword);
  const chap = single(ATTRIBUTE.chapPassword);
  const state = single(ATTRIBUTE.state);
  if (!userName || userName.length === 0 || (encryptedPassword === undefined) === (chap === undefined)) throw new RadiusPacketError('malformed');

  let password: string | undefined;
  if (encryptedPassword !== undefined) {
    let decoded: ReturnType<typeof radius.decode>;
    try {
      decoded = radius.decode({ packet, secret });
    } catch {
      throw new RadiusPacketError('malformed'); // a User-Password not of 16 to 128 octets in whole blocks
    }
    const value = decoded.attributes['User-Password'];
    if (typeof value !== 'string') throw new RadiusPacketError('malformed');
    password = value;
  }
  return {
    identifier: packet[1]!,
    authenticator: Buffer.from(packet.subarray(4, HEADER)),
    userName: userName.toString('utf8'),
    password,
    state: state && Buffer.from(state),
    proxyStates: attributes.filter((a) => a.type === ATTRIBUTE.proxyState).map((a) => Buffer.from(a.value)),
  };
}

export type AnswerCode = 'Access-Accept' | 'Access-Reject' | 'Access-Challenge';

export interface Answer {
  readonly code: AnswerCode;
  /** Shown to the person (Reply-Message); split into attributes of at most 253 octets. */
  readonly message?: string;
  /** Access-Challenge: the State the client returns with the answer. */
  readonly state?: Uint8Array;
}

/**
 * Writes the answer to `request`: Message-Authenticator first (HMAC-MD5 over the answer with the
 * request's authenticator in place, RFC 3579 section 3.2), then the Response Authenticator
 * (RFC 2865 section 3) over it all.
 */
export function writeAnswer(request: AccessRequest, answer: Answer, secret: Buffer): Buffer {
  const attributes: Array<readonly [string | number, Buffer]> = [[ATTRIBUTE.messageAuthenticator, Buffer.alloc(MA_LENGTH)]];
  const message = Buffer.from(answer.message ?? '', 'utf8');
  for (let at = 0; at < message.length; at += 253) attributes.push([ATTRIBUTE.replyMessage, message.subarray(at, at + 253)]);
  if (answer.state) {
    if (answer.state.length === 0 || answer.state.length > 253) throw new Error('a State is 1 to 253 octets');
    attributes.push([ATTRIBUTE.state, Buffer.from(answer.state)]);
  }
  for (const proxy of request.proxyStates) attributes.push([ATTRIBUTE.proxyState, proxy]);

  const packet = radius.encode({ code: answer.code, identifier: request.identifier, authenticator: request.authenticator, attributes, secret, add_message_authenticator: false });
  if (packet.length > MAX_PACKET) throw new Error('the answer does not fit a RADIUS packet');
  request.authenticator.copy(packet, 4);
  const maAt = HEADER + 2;
  packet.fill(0, maAt, maAt + MA_LENGTH);
  crypto.createHmac('md5', secret).update(packet).digest().copy(packet, maAt);
  crypto.createHash('md5').update(packet).update(secret).digest().copy(packet, 4);
  return packet;
}
