/**
 * The lab page's line to an emulated token: the debug link's client (host/bridge/debug-link.ts),
 * one connection kept open and opened again when it drops, its failures as the lab's coded
 * errors. The lab reaches a token through this and nothing else (test/architecture.test.ts).
 */
import { DebugLinkError, type DisplayResult } from '../../protocol/debug/messages.ts';
import { DebugClient } from '../bridge/debug-link.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/** What the token's display shows: its text as a person reads it (trimmed), and the segment pattern of each position. */
export interface TokenFace {
  readonly display: string;
  /** One byte a position, leftmost first: bits 0..6 light segments a..g, bit 7 the decimal point. */
  readonly segments: readonly number[];
  readonly on: boolean;
}

type FaceOp = 'press' | 'display';

export interface TokenLinkOptions {
  /** How long connecting, and one operation, may take (default 5000 ms; an emulated press takes none). */
  readonly timeoutMs?: number;
}

export class TokenLink {
  private client: Promise<DebugClient> | undefined;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string,
    options: TokenLinkOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Presses the button once; the display after the press. */
  press(): Promise<TokenFace> {
    return this.call('press');
  }

  /** Reads the display. */
  read(): Promise<TokenFace> {
    return this.call('display');
  }

  close(): void {
    const client = this.client;
    this.client = undefined;
    void client?.then(
      (open) => open.close(),
      () => {},
    );
  }

  /**
   * A connection can be found closed only once a request is on it (the emulator restarted in
   * between), so an operation whose link dropped is tried once more on a new one. Should the
   * token have counted a press whose answer was lost, the repeat skips one HOTP code, which the
   * server's look-ahead window absorbs; it never shows a code twice.
   */
  private async call(op: FaceOp): Promise<TokenFace> {
    try {
      return toFace(await (await this.open()).call(op));
    } catch (error) {
      if (!(error instanceof DebugLinkError) || error.code !== 'NV_DEBUG_LINK') throw this.labError(error, op);
    }
    try {
      return toFace(await (await this.open()).call(op));
    } catch (error) {
      throw this.labError(error, op);
    }
  }

  private async open(): Promise<DebugClient> {
    const current = this.client;
    if (current) {
      const open = await current.catch(() => undefined);
      if (open && !open.closed) return open;
      if (this.client === current) this.client = undefined;
    }
    this.client ??= DebugClient.connect(this.address, { connectTimeoutMs: this.timeoutMs, callTimeoutMs: this.timeoutMs });
    const attempt = this.client;
    try {
      return await attempt;
    } catch (error) {
      if (this.client === attempt) this.client = undefined;
      throw error;
    }
  }

  /** The debug link's failure as the lab answers it: the token's own refusals keep their code. */
  private labError(error: unknown, op: FaceOp): unknown {
    if (!(error instanceof DebugLinkError)) return error;
    switch (error.code) {
      case 'NV_DEBUG_UNREACHABLE':
        return new CodedError('NV_LAB_TOKEN_UNREACHABLE', `${error.message}: is the emulator running?`, 502);
      case 'NV_DEBUG_TIMEOUT':
        return new CodedError('NV_LAB_TOKEN_TIMEOUT', `the emulated token did not answer "${op}" within ${this.timeoutMs} ms`, 504);
      case 'NV_DEBUG_LINK':
        return new CodedError('NV_LAB_TOKEN_LINK', 'the link to the emulated token dropped', 502);
      case 'NV_DEBUG_BAD_ANSWER':
      case 'NV_DEBUG_TOO_LONG':
        return new CodedError('NV_LAB_TOKEN_ANSWER', `the emulated token answered without a display (${error.message})`, 502);
      default:
        return new CodedError(error.code, error.message, error.code === 'NV_DEBUG_POWERED_OFF' ? 409 : 502);
    }
  }
}

function toFace({ display, segments, on }: DisplayResult): TokenFace {
  return { display: display.trim(), segments: [...segments], on };
}
