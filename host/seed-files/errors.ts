/**
 * How a seed file fails: a stable code and a one-line message that never carries a seed, a
 * password or a key. A `SeedFileError` refuses the whole file (nothing of it is imported); a
 * `KeyRefusal` (types.ts) refuses one key of a file whose other keys import.
 */
export type SeedFileErrorCode =
  /** The file is over the size limit. */
  | 'NV_SEED_FILE_TOO_LARGE'
  /** The format cannot be told from the name or the content, or is not one of ours. */
  | 'NV_SEED_FILE_FORMAT'
  /** PSKC: the content is not well-formed XML. */
  | 'NV_SEED_FILE_NOT_XML'
  /** PSKC: the XML ends before its KeyContainer closes. */
  | 'NV_SEED_FILE_TRUNCATED'
  /** PSKC: a document type declaration or an entity, refused before parsing. */
  | 'NV_SEED_FILE_DTD'
  /** PSKC: XML, but not a PSKC 1.0 KeyContainer. */
  | 'NV_SEED_FILE_NOT_PSKC'
  /** A field that does not read as what it must be (base64, hex, a number, a line's columns). */
  | 'NV_SEED_FILE_MALFORMED'
  /** An algorithm the file names that this server does not know (OTP, hash, cipher, MAC, key derivation). */
  | 'NV_SEED_FILE_UNKNOWN_ALGORITHM'
  /** PSKC: the file's protection is of a kind this server does not open (e.g. a certificate's key). */
  | 'NV_SEED_FILE_UNSUPPORTED'
  /** PSKC: a value's MAC does not match. */
  | 'NV_SEED_FILE_BAD_MAC'
  /** PSKC: the password or pre-shared key does not open the file. */
  | 'NV_SEED_FILE_WRONG_KEY'
  /** PSKC: the file is encrypted under a password and none was given. */
  | 'NV_SEED_FILE_NEEDS_PASSWORD'
  /** PSKC: the file is encrypted under a pre-shared key and none was given. */
  | 'NV_SEED_FILE_NEEDS_KEY'
  /** The file holds no key at all. */
  | 'NV_SEED_FILE_EMPTY'
  /** Two importable keys of the file carry one serial. */
  | 'NV_SEED_FILE_DUPLICATE_SERIAL'
  /** A seed under 16 bytes, without allowShortSeed (the server's own NV_SHORT_SEED rule). */
  | 'NV_SHORT_SEED'
  /** Export: a token the chosen format cannot carry faithfully (e.g. 7 digits in an otpauth URI). */
  | 'NV_EXPORT_UNSUPPORTED'
  /** Export: no password or key for an encrypted file, or both. */
  | 'NV_EXPORT_PROTECTION';

export class SeedFileError extends Error {
  constructor(
    readonly code: SeedFileErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SeedFileError';
  }
}
