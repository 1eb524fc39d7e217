/** Many presses through an emulator's debug link, each making a new code, for tests of a token under load. */
import { DebugClient } from '../../host/bridge/debug-link.ts';

/** A code stays on the display for 30 s of token time; a press after that makes the next one. */
const PAST_THE_CODE_MS = 31_000;

/**
 * Presses `count` times, a batch of requests in flight at a time. Fails (instead of waiting for
 * ever) if the token stops answering its debug link for `stallMs`.
 */
export async function pressNewCodes(debug: string, count: number, options: { batch?: number; stallMs?: number } = {}): Promise<void> {
  const batch = options.batch ?? 100;
  const stallMs = options.stallMs ?? 20_000;
  const client = await DebugClient.connect(debug);
  try {
    for (let done = 0; done < count; ) {
      const n = Math.min(batch, count - done);
      const calls = Array.from({ length: n }, () => [client.call('advance', { ms: PAST_THE_CODE_MS }), client.call('press')]).flat();
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the token stopped answering its debug link after ${done} presses`)), stallMs);
      });
      try {
        await Promise.race([Promise.all(calls), stalled]);
      } finally {
        clearTimeout(timer);
      }
      done += n;
    }
  } finally {
    client.close();
  }
}
