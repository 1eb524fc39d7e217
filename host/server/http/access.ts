/**
 * Who a request is: the API key it carries (`Authorization: Bearer …`), as the server's
 * `onRequest` hook found it, and the one check that a route's key is the right one. Every route
 * that needs a key, the token API's and the login service's operator routes alike, takes this
 * check as its `preValidation`: without the right key, a request learns nothing of the schema.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import type { Actor } from '../../store/audit.ts';
import type { Principal, Role } from '../secrets.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type AccessHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: CodedError) => void) => void;

/** A hook that lets a request through only with one of `roles`' keys: 401 without a key it knows, 403 with another. */
export function requireRole(...roles: Role[]): AccessHook {
  const needs = `this needs the ${roles.join(' or ')} key`;
  // A callback, not an async hook: that would cost a promise and a turn of its own on every request.
  return (request, _reply, done) => {
    if (!request.principal) return done(new CodedError('NV_UNAUTHORIZED', 'an API key is needed: Authorization: Bearer <key>', 401));
    if (!roles.includes(request.principal.role)) return done(new CodedError('NV_FORBIDDEN', needs, 403));
    done();
  };
}

/** The route options of an administrative route, and of one the client key may call too. */
export const ADMIN_ONLY = { preValidation: requireRole('admin') };
export const CLIENT_OR_ADMIN = { preValidation: requireRole('client', 'admin') };

/** Who asked, for the audit log: the API key's name and the address. */
export function keyActor(request: FastifyRequest): Actor {
  return { name: request.principal?.id ?? 'anonymous', ip: request.ip };
}

/** The key a request carries, if any. */
export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
