/**
 * What the RADIUS front asks of the server: the decisions, behind an interface the wiring
 * implements over the token service and the login flow. The front only carries packets; who is
 * accepted, when to ask a second step and what to say is the verifier's.
 */

/** Where a request came from: the client (by its configured name) and its address. */
export interface RadiusOrigin {
  readonly client: string;
  readonly address: string;
  readonly port: number;
}

export type RadiusDecision =
  | { readonly kind: 'accept'; readonly message?: string }
  /** `reason` goes to the audit hook only; `message` (if any) is shown to the person. */
  | { readonly kind: 'reject'; readonly reason: string; readonly message?: string }
  /**
   * The second step: `message` asks for it ("Enter the key for number 4711", "Press your
   * token's button"), `state` (1–253 opaque octets the verifier can find the login by, e.g. a
   * random transaction id) comes back with the answer.
   */
  | { readonly kind: 'challenge'; readonly message: string; readonly state: Uint8Array };

export interface RadiusVerifier {
  /**
   * An Access-Request without State. `password` is the PAP User-Password as typed: the person's
   * password followed by their code (one step, accepted or rejected), or the password alone
   * (the verifier answers a challenge for the second step).
   */
  authenticate(request: { readonly user: string; readonly password: string; readonly origin: RadiusOrigin }): Promise<RadiusDecision>;
  /** An Access-Request answering a challenge: the State sent with it, and the key or code the person typed. */
  answerChallenge(request: { readonly user: string; readonly state: Uint8Array; readonly response: string; readonly origin: RadiusOrigin }): Promise<RadiusDecision>;
}
