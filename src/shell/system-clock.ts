import type { Clock } from '../host/contract';

/** The only place the shell reads the real time; everything else receives a Clock. */
export const systemClock: Clock = { now: () => new Date() };
