/** Types of the browser module key-file.js (the employee key file, nøglefil), for TypeScript callers and tests. */

export declare const KEY_FILE_FORMAT: 'noegleviser-key-file/1';
export declare const KDF_ITERATIONS: number;
export declare const MIN_PASSWORD_LENGTH: number;

export interface KeyFile {
  readonly format: 'noegleviser-key-file/1';
  readonly personId: string;
  readonly label: string;
  /** SPKI DER, base64url. */
  readonly publicKey: string;
  readonly kdf: { readonly name: 'PBKDF2'; readonly hash: 'SHA-256'; readonly iterations: number; readonly salt: string };
  readonly cipher: { readonly name: 'AES-GCM'; readonly iv: string };
  /** AES-GCM(PKCS #8 DER), base64url. */
  readonly privateKey: string;
}

export declare function createKeyFile(input: { personId: string; label: string; password: string }): Promise<{ fileText: string; publicKey: string }>;
export declare function readKeyFile(fileText: string): KeyFile;
export declare function signChallenge(fileText: string, password: string, challenge: string): Promise<string>;
export declare function markFieldProblem(inputs: HTMLElement[], atFault: HTMLElement | null, status: HTMLElement, fallback?: HTMLElement | null): void;
