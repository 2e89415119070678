import { secondHalfRange, secondHalfSlope, type SoakSample } from '../../bench/lib/memorySoak';

const at = (rss: number[], every = 10): SoakSample[] =>
  rss.map((rssMb, i) => ({ second: (i + 1) * every, rssMb, tasksPerSecond: 0 }));

describe("a soak's second-half RSS slope", () => {
  test('is the least-squares slope of the later half, per minute', () => {
    // First half anything (warm-up); second half +5 MB every 10 s = 30 MB/min.
    expect(secondHalfSlope(at([50, 300, 100, 200, 205, 210]))).toBeCloseTo(30, 6);
    expect(secondHalfSlope(at([10, 10, 10, 10]))).toBe(0);
    expect(secondHalfSlope(at([100, 90, 80, 70], 30))).toBeCloseTo(-20, 6);
  });
  test('is not a number with fewer than two samples to fit', () => {
    expect(secondHalfSlope(at([100]))).toBeNaN();
    expect(secondHalfSlope([])).toBeNaN();
  });
});

describe("a soak's second-half RSS range", () => {
  test('is the lowest and highest RSS of the later half only', () => {
    expect(secondHalfRange(at([500, 1, 207, 219, 212, 221]))).toEqual({ min: 212, max: 221 });
    expect(secondHalfRange(at([5, 9, 7]))).toEqual({ min: 7, max: 9 });
  });
  test('is not a number without samples', () => {
    expect(secondHalfRange([])).toEqual({ min: NaN, max: NaN });
  });
});
