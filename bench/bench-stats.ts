/**
 * What every bench row reports (issue 15 item 6): baseline, ours, their ratio and the machine's
 * load average while the row ran. Pairs are interleaved (baseline, ours, baseline, ours…) and the
 * ratio is the median of the per-pair ratios, so a load spike from another suite hits both sides.
 */
import os from 'node:os';

export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The p-quantile (0..1) of a sample, nearest rank. */
export function quantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

export const loadAverage = (): number[] => os.loadavg().map((x) => round(x, 2));

export interface PairRow<T> {
  readonly baseline: readonly T[];
  readonly ours: readonly T[];
  /** Median of ours/baseline per pair, of the figure `metric` picks. */
  readonly ratio: number;
  readonly loadAverage: { readonly start: number[]; readonly end: number[] };
}

/** Runs `pairs` interleaved pairs and the median of the per-pair ratios of `metric`. */
export async function interleaved<T>(pairs: number, baseline: () => Promise<T>, ours: () => Promise<T>, metric: (r: T) => number): Promise<PairRow<T>> {
  const start = loadAverage();
  const b: T[] = [];
  const o: T[] = [];
  for (let i = 0; i < pairs; i++) {
    b.push(await baseline());
    o.push(await ours());
  }
  const ratios = b.map((x, i) => metric(o[i]) / metric(x));
  return { baseline: b, ours: o, ratio: round(median(ratios), 2), loadAverage: { start, end: loadAverage() } };
}
