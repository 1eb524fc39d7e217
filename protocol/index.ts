export * from './version.ts';
export * from './errors.ts';
export * from './message.ts';
export * from './fields.ts';
export * from './commands.ts';
export * from './crc32.ts';
export * from './bytes.ts';
export * from './framing/line.ts';
