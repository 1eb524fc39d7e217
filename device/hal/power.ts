/** The battery, as the firmware's ADC reads it. */
export interface Power {
  /** Charge left, 0..100. */
  batteryPercent(): number;
  /** Tells the power model that the token spent energy (display on, a flash write, a code computed). */
  spend(work: PowerWork): void;
}

export type PowerWork = 'code' | 'flash-write' | 'display-second';
