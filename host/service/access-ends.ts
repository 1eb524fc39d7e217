/**
 * A person's access ending: a card, token or key file blocked, the person blocked or re-issued,
 * a lockout, a new password. Whoever keeps sessions of the person elsewhere (the OpenID Connect
 * provider and, through it, the sites) subscribes; the service says so after the change is stored.
 */
export type AccessEndReason = 'card-blocked' | 'token-blocked' | 'key-file-blocked' | 'person-blocked' | 'reissued' | 'locked' | 'password-changed';

export type AccessEndListener = (personId: string, reason: AccessEndReason) => Promise<void>;

export class AccessEnds {
  private readonly listeners: AccessEndListener[] = [];

  subscribe(listener: AccessEndListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener; one that fails does not undo the change nor keep the others from hearing it. */
  async ended(personId: string, reason: AccessEndReason): Promise<void> {
    await Promise.allSettled(this.listeners.map((listener) => listener(personId, reason)));
  }
}
