/**
 * An 8-position 7-segment display, driven like a MAX7219 in no-decode mode: the firmware sends
 * the segment pattern of every position. Bit 0..6 light segments a..g, bit 7 the decimal point.
 *
 *      a
 *    f   b
 *      g
 *    e   c
 *      d   dp
 */
export const DISPLAY_POSITIONS = 8;

export interface SegmentDisplay {
  /** Shows `segments[0]` at the leftmost position. All 0 blanks the display. */
  show(segments: Uint8Array): void;
}
