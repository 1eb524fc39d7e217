/**
 * What starting the host takes by default (where the database is, how codes are judged, what the
 * request log leaves out), readable without loading fastify or SQLite: the `server` command shows
 * them in its help and loads host/start.ts only when it runs. A command that starts the host
 * reaches the host through these two modules, nothing deeper (the login service's default rules are read here too).
 */
export { DEFAULT_PORT } from './api/defaults.ts';
export { LOG_REDACTIONS, defaultDbFile } from './server/defaults.ts';
export { DEFAULT_POLICY } from './server/policy.ts';
export { DEFAULT_SERVICE_POLICY } from './service/service-policy.ts';
