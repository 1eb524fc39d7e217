/** The token's one push button. Edges arrive as `button` input events; the firmware debounces them. */
export interface Button {
  /** The pin level right now, as the firmware samples it once an edge has settled. */
  isPressed(): boolean;
}
