/** What an OATH code is made with: the hash and the length. (No engine here: this is cheap to import.) */
export type OathAlgorithm = 'sha1' | 'sha256' | 'sha512';

export const OATH_ALGORITHMS: readonly OathAlgorithm[] = Object.freeze(['sha1', 'sha256', 'sha512']);

/** Smallest and largest code length. RFC 4226 requires at least 6; oathtool and pam_oath stop at 8. */
export const MIN_DIGITS = 6;
export const MAX_DIGITS = 8;
