/**
 * A memory soak: one server under a steady closed-loop load for a while, its RSS (VmRSS) read
 * every interval, then the RSS at a quarter of the run (past warm-up), at the end, the peak
 * (VmHWM), and over the second half the least-squares slope of RSS in MB per minute and the
 * lowest and highest RSS. Flat memory is a narrow range with a slope near 0 (V8's heap saws up
 * and down by ~10 MB between major collections, which tilts a short window's slope either
 * way); a store that keeps every task in memory climbs all the way.
 */
import fs from 'node:fs';
import { memMb } from './proc';

export interface SoakSample {
  second: number;
  rssMb: number;
  tasksPerSecond: number;
  /** Size of the files the server stores into (database + WAL), if it has any. */
  dbMb?: number;
}

export interface SoakResult {
  seconds: number;
  interval: number;
  samples: SoakSample[];
  tasks: number;
  peakRssMb: number;
  rssAtQuarterMb: number;
  rssAtEndMb: number;
  slopeMbPerMin: number;
  /** Lowest and highest RSS sampled in the second half. */
  secondHalfMb: { min: number; max: number };
}

const secondHalf = (samples: SoakSample[]) => samples.slice(Math.floor(samples.length / 2));

/** Lowest and highest RSS of the second half of the samples (NaN when there are none). */
export function secondHalfRange(samples: SoakSample[]): { min: number; max: number } {
  const rss = secondHalf(samples).map((s) => s.rssMb);
  return rss.length ? { min: Math.min(...rss), max: Math.max(...rss) } : { min: NaN, max: NaN };
}

/** Least-squares slope of RSS over the second half of the samples, in MB per minute. */
export function secondHalfSlope(samples: SoakSample[]): number {
  const half = secondHalf(samples);
  const n = half.length;
  if (n < 2) return NaN;
  const mx = half.reduce((a, s) => a + s.second, 0) / n;
  const my = half.reduce((a, s) => a + s.rssMb, 0) / n;
  const sxy = half.reduce((a, s) => a + (s.second - mx) * (s.rssMb - my), 0);
  const sxx = half.reduce((a, s) => a + (s.second - mx) ** 2, 0);
  return sxx > 0 ? (sxy / sxx) * 60 : NaN;
}

export async function memorySoak(options: {
  pid: number;
  seconds: number;
  interval: number;
  /** Files whose combined size is sampled too (a database and its WAL). */
  files?: string[];
  /** Runs the load for about `seconds` and returns the tasks it completed. */
  slice: (seconds: number) => Promise<number>;
  /** Told of each sample as it is taken. */
  onSample?: (sample: SoakSample) => void;
}): Promise<SoakResult> {
  const { pid, seconds, interval, files } = options;
  const samples: SoakSample[] = [];
  let done = 0;
  let tasks = 0;
  const size = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);
  const timer = setInterval(() => {
    const sample: SoakSample = {
      second: (samples.length + 1) * interval,
      rssMb: Number(memMb(pid, 'VmRSS').toFixed(1)),
      tasksPerSecond: Math.round(done / interval),
    };
    if (files) {
      const bytes = files.reduce((sum, file) => sum + size(file), 0);
      sample.dbMb = Number((bytes / 1024 / 1024).toFixed(1));
    }
    done = 0;
    samples.push(sample);
    options.onSample?.(sample);
  }, interval * 1000);
  try {
    // In slices of a second, so that the tasks of each interval can be counted.
    const stopAt = Date.now() + seconds * 1000;
    while (Date.now() < stopAt) {
      const completed = await options.slice(Math.min(1, (stopAt - Date.now()) / 1000));
      done += completed;
      tasks += completed;
    }
  } finally {
    clearInterval(timer);
  }
  const rss = samples.map((s) => s.rssMb);
  return {
    seconds,
    interval,
    samples,
    tasks,
    peakRssMb: memMb(pid, 'VmHWM'),
    rssAtQuarterMb: rss[Math.floor(rss.length / 4)] ?? NaN,
    rssAtEndMb: rss.at(-1) ?? NaN,
    slopeMbPerMin: secondHalfSlope(samples),
    secondHalfMb: secondHalfRange(samples),
  };
}
