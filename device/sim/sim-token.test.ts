/** SimToken: the lab's finger and clock over a simulated token. */
import { describe, expect, it } from 'vitest';
import { createRig } from '../../test/support/rig.ts';

describe('SimToken', () => {
  it('lab presses take time for the firmware but leave the real-time clock where the wall clock is', () => {
    const rig = createRig();
    const before = rig.token.rtc.read();
    const uptimeBefore = Number(rig.ok('status').uptime);
    for (let i = 0; i < 1000; i++) rig.token.press();
    rig.token.hold();
    expect(rig.token.rtc.read()).toBe(before);
    expect(Number(rig.ok('status').uptime) - uptimeBefore).toBeGreaterThanOrEqual(1000 * 200);
  });

  it('advance moves the real-time clock, fast or slow by the drift', () => {
    const rig = createRig();
    rig.token.rtc.driftPpm = 100;
    const before = rig.token.rtc.read();
    rig.token.advance(86_400_000);
    expect(rig.token.rtc.read() - before).toBeCloseTo(86_400_000 * 1.0001, 3);
  });

  it('a power cut turns the token off until power is restored, and it boots again from its flash', () => {
    const rig = createRig();
    rig.ok('push', { on: '0' });
    rig.token.armPowerCut({ atOperation: 1, fraction: 0.5 });
    rig.send('push', { on: '1' });
    expect(rig.token.poweredOn).toBe(false);
    expect(rig.token.display.segments).toEqual(new Uint8Array(8));
    rig.token.powerOn();
    expect(rig.token.boots).toBe(2);
    expect(rig.drain()).toMatchObject([{ kind: 'event', name: 'boot' }]);
    expect(rig.ok('info').push).toBe('0');
  });
});
