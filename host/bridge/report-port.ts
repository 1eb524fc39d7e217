/** A HID report pipe to a token: 64-byte reports each way, whether over USB (node-hid) or UDP (the emulator). */
export interface ReportPort {
  readonly description: string;
  write(report: Uint8Array): Promise<void>;
  onReport(listener: (report: Uint8Array) => void): void;
  /** The device went away (unplugged, closed); `error` says why when known. */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}
