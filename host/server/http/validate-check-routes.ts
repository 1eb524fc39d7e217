/**
 * `POST /validate/check`, privacyIDEA's validate API (host/api/validate-check.ts), registered in a
 * context of its own: it alone takes form bodies, as privacyIDEA's plugins send them. A GET is
 * answered 405 (it would put `pass` in URLs and logs). Who may call: holders of the client (or
 * admin) key, and addresses in the networks given with --validate-allow.
 */
import net from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import { VALIDATE_CHECK_ROUTE } from '../../api/validate-check.ts';
import { ValidateCheckParameterError, methodNotAllowedAnswer, parameterErrorAnswer, parseValidateCheck, validateCheckAnswer } from '../../privacyidea/validate-check.ts';
import type { ValidateCheck } from '../validate-check.ts';
import { keyActor } from './access.ts';

/** A list of networks (`10.0.0.0/8`, `::1/128`, a bare address) as one matcher; a bad entry is NV_BAD_ARGUMENT. */
export function networks(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    const bits = prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix);
    if (!net.isIP(address) || !/^\d{1,3}$/.test(prefix ?? '0') || bits > (family === 'ipv6' ? 128 : 32)) {
      throw new CodedError('NV_BAD_ARGUMENT', `--validate-allow takes an address or a network in CIDR notation (10.0.0.0/8, ::1/128), not "${cidr}"`);
    }
    list.addSubnet(address, bits, family);
  }
  return list;
}

function allowedFrom(allow: net.BlockList, address: string): boolean {
  const plain = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  return net.isIP(plain) !== 0 && allow.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
}

export function registerValidateCheckRoutes(app: FastifyInstance, check: ValidateCheck, options: { readonly allow: readonly string[] }): void {
  const allow = networks(options.allow);
  const context = () => ({ now: Date.now() / 1000 });
  // CSRF: exempt. /validate/check is a non-cookie API: privacyIDEA's plugins call it server to server,
  // with the client key or from a network --validate-allow lists; no session cookie is read here.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    const caller = (request: FastifyRequest, _reply: unknown, done: (error?: CodedError) => void) => {
      const role = request.principal?.role;
      if (role === 'client' || role === 'admin' || allowedFrom(allow, request.ip)) return done();
      done(new CodedError('NV_UNAUTHORIZED', `${VALIDATE_CHECK_ROUTE} needs the client key (Authorization: Bearer <key>), or a caller from a network the server allows with --validate-allow`, 401));
    };
    scope.post(VALIDATE_CHECK_ROUTE, { preValidation: caller }, async (request, reply) => {
      let parsed;
      try {
        parsed = parseValidateCheck(request.body ?? {});
      } catch (error) {
        if (!(error instanceof ValidateCheckParameterError)) throw error;
        const answer = parameterErrorAnswer(error, context());
        return reply.status(answer.status).send(answer.body);
      }
      const actor = { ...keyActor(request), name: request.principal?.id ?? 'validate-check' };
      const answer = validateCheckAnswer(await check.check(parsed, actor), context());
      return reply.status(answer.status).send(answer.body);
    });
    scope.get(VALIDATE_CHECK_ROUTE, async (_request, reply) => {
      const answer = methodNotAllowedAnswer(context());
      return reply.status(answer.status).header('allow', 'POST').send(answer.body);
    });
  });
}
