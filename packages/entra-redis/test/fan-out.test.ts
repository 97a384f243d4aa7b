// The paced fan-out's adaptive window (unit tests on a fake clock): it widens while answers
// come back as fast as the fastest, up to the ceiling, and narrows when they slow down.
import { describe, expect, it } from 'vitest';
import { FANOUT_WINDOW, FanOut, REAUTH_SLOT_TIMEOUT_MS } from '../src/token/fan-out.js';
import { FakeClock, deferred, flush } from './fakes.js';

/** `count` listeners whose re-AUTHs answer when the test says; counts calls and answers. */
function connections(count: number) {
  const answers: Array<ReturnType<typeof deferred<void>>> = [];
  const listeners = Array.from({ length: count }, () => ({
    receiveCredentials: () => {
      const answer = deferred<void>();
      answers.push(answer);
      return answer.promise;
    },
  }));
  let answered = 0;
  return {
    listeners,
    get called(): number {
      return answers.length;
    },
    get inFlight(): number {
      return answers.length - answered;
    },
    /** Answers the oldest unanswered re-AUTH. */
    async answerNext(): Promise<void> {
      answers[answered++]!.resolve();
      await flush();
    },
  };
}

/** A fan-out of a token whose predecessor has an hour left: paced for the full 30 s. */
function deliver(fanOut: FanOut, clock: FakeClock, listeners: ReturnType<typeof connections>) {
  fanOut.deliver(
    listeners.listeners,
    { password: 'T' } as never,
    () => true,
    clock.now() + 3_600_000,
  );
}

describe('FanOut: adaptive window', () => {
  it(`starts at ${FANOUT_WINDOW.initial} in flight and widens by one per fast answer, up to the ceiling`, async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(64, clock, () => {});
    const c = connections(500);
    deliver(fanOut, clock, c);
    expect(c.called).toBe(FANOUT_WINDOW.initial);
    // Answers at once (as fast as the fastest): each frees its place and widens the window.
    for (let i = 0; i < 10; i++) await c.answerNext();
    expect(c.inFlight).toBe(FANOUT_WINDOW.initial + 10);
    for (let i = 0; i < 100; i++) await c.answerNext();
    expect(c.inFlight).toBe(64); // the ceiling, never more
    fanOut.cancel();
  });

  it('halves the window when answers slow down, not below the floor, and widens again', async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(1024, clock, () => {});
    const c = connections(5_000);
    deliver(fanOut, clock, c);
    await c.answerNext(); // the fastest round trip: 0 ms
    expect(c.inFlight).toBe(FANOUT_WINDOW.initial + 1);
    // Now every answer takes 50 ms (AUTHs queueing at the server): the window halves once per
    // window's worth of answers, down to the floor.
    const inFlightAtCalls: number[] = [];
    for (let i = 0; i < 200; i++) {
      await clock.advance(50);
      const before = c.called;
      await c.answerNext();
      if (c.called > before) inFlightAtCalls.push(c.inFlight);
    }
    expect(Math.max(...inFlightAtCalls.slice(-20))).toBe(FANOUT_WINDOW.floor);
    expect(Math.min(...inFlightAtCalls)).toBeGreaterThanOrEqual(FANOUT_WINDOW.floor);
    // Fast again: once the re-AUTHs sent during the slow spell are answered, those sent now
    // come back at once, and the window widens from the floor.
    for (let i = 0; i < FANOUT_WINDOW.floor; i++) await c.answerNext();
    const settled = c.inFlight; // the floor, or one more if the last one sent answered at once
    expect(settled).toBeLessThanOrEqual(FANOUT_WINDOW.floor + 1);
    for (let i = 0; i < 20; i++) await c.answerNext();
    expect(c.inFlight).toBe(settled + 20);
    fanOut.cancel();
  });

  it('a re-AUTH left unanswered for 2 s counts as slow; one watchdog timer serves every place', async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(1024, clock, () => {});
    const c = connections(5_000);
    deliver(fanOut, clock, c);
    expect(clock.pendingTimers).toBe(2); // the watchdog and the deadline, for 32 places
    await clock.advance(REAUTH_SLOT_TIMEOUT_MS); // a partition: nobody answered
    // All 32 places let go at once and count as slow: 32 answers ≥ the window of 32, so it
    // halved, and the next 16 went.
    expect(c.called).toBe(FANOUT_WINDOW.initial + FANOUT_WINDOW.initial / 2);
    expect(clock.pendingTimers).toBe(2);
    fanOut.cancel();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a ceiling below the initial window is the window; nothing is left once all answered', async () => {
    const clock = new FakeClock();
    const fanOut = new FanOut(4, clock, () => {});
    const c = connections(20);
    deliver(fanOut, clock, c);
    expect(c.called).toBe(4);
    for (let i = 0; i < 20; i++) {
      expect(c.inFlight).toBeLessThanOrEqual(4);
      await c.answerNext();
    }
    expect(c.called).toBe(20);
    expect(clock.pendingTimers).toBe(0); // the fan-out ended: no watchdog, no deadline
  });
});
