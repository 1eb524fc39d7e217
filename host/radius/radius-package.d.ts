/** The part of the `radius` package (1.1.4, no types of its own) this front uses. */
declare module 'radius' {
  type AttributeValue = string | number | Buffer;
  interface DecodedPacket {
    readonly code: string;
    readonly identifier: number;
    readonly authenticator: Buffer;
    /** By dictionary name; User-Password decrypted; an attribute given twice becomes an array. */
    readonly attributes: Readonly<Record<string, AttributeValue | AttributeValue[] | undefined>>;
    /** Every attribute in order, as [type, value]. */
    readonly raw_attributes: ReadonlyArray<readonly [number, Buffer]>;
  }
  interface EncodeArgs {
    readonly code: string;
    readonly identifier?: number;
    readonly authenticator?: Buffer;
    readonly attributes?: ReadonlyArray<readonly [string | number, AttributeValue]>;
    readonly secret: string | Buffer;
    readonly add_message_authenticator?: boolean;
  }
  const radius: {
    decode(args: { packet: Buffer; secret: string | Buffer }): DecodedPacket;
    encode(args: EncodeArgs): Buffer;
    calculate_message_authenticator(packet: Buffer, secret: string | Buffer): Buffer;
  };
  export default radius;
}
