/**
 * The products this firmware is built as: the plain code token, silent until a host turns its
 * speaker up, and the audio code reader (as NemID's lydkodeviser and MitID's kodeoplæser), which
 * speaks from the start. A model is its name in `hello` and `info` and its factory settings.
 */
import type { FirmwareConfig } from './token.ts';

export const MODEL_NAMES = ['token', 'reader'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const TOKEN_MODELS: { readonly [M in ModelName]: Required<Pick<FirmwareConfig, 'model' | 'audioDefaults'>> } = {
  token: { model: 'NV1', audioDefaults: { volume: 0, speed: 3 } },
  reader: { model: 'NV1-READER', audioDefaults: { volume: 3, speed: 3 } },
};

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}
