/** Prometheus metrics, in a registry of the server's own (several servers may share a process in tests). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ResyncOutcome, VerifyOutcome } from './token-service.ts';
import { TOKEN_STATES, type TokenStore } from './store/types.ts';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly verifications: Counter<'result' | 'reason'>;
  private readonly resyncs: Counter<'result'>;
  readonly requests: Histogram<'method' | 'route' | 'status'>;

  constructor(store: TokenStore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'noegleviser_' });
    this.verifications = new Counter({
      name: 'noegleviser_verifications_total',
      help: 'Codes verified, by result and reason for rejection',
      labelNames: ['result', 'reason'],
      registers: [this.registry],
    });
    this.resyncs = new Counter({ name: 'noegleviser_resyncs_total', help: 'Resync attempts, by result', labelNames: ['result'], registers: [this.registry] });
    this.requests = new Histogram({
      name: 'noegleviser_http_request_duration_seconds',
      help: 'HTTP requests, by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [this.registry],
    });
    new Gauge({
      name: 'noegleviser_tokens',
      help: 'Tokens in the store, by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const counts = await store.countTokens();
        for (const state of TOKEN_STATES) this.set({ state }, counts[state]);
      },
    });
  }

  verified(outcome: VerifyOutcome): void {
    this.verifications.inc({ result: outcome.result, reason: outcome.result === 'rejected' ? outcome.reason : '' });
  }

  resynced(outcome: ResyncOutcome): void {
    this.resyncs.inc({ result: outcome.result });
  }
}
