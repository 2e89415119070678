import { median, roundOrder } from '../../bench/lib/rounds';

describe('the order of each interleaved round', () => {
  test('two contenders take turns going first, two rounds in a row each (ABBA)', () => {
    const orders = [0, 1, 2, 3].map((round) => roundOrder(['a', 'b'], round).join(''));
    expect(orders).toEqual(['ab', 'ba', 'ba', 'ab']);
  });
  test('three contenders go through all six orders in six rounds', () => {
    const orders = [0, 1, 2, 3, 4, 5].map((round) => roundOrder(['a', 'b', 'c'], round).join(''));
    expect(new Set(orders).size).toBe(6);
    expect(orders[0]).toBe('abc');
  });
  test('every round runs each contender exactly once, whatever the round', () => {
    for (let round = 0; round < 20; round += 1) {
      expect(roundOrder([1, 2, 3, 4], round).sort()).toEqual([1, 2, 3, 4]);
    }
    expect(roundOrder([], 3)).toEqual([]);
  });
});

describe('the median of per-round figures', () => {
  test('is the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  test('leaves out figures that are not numbers (a round a side failed)', () => {
    expect(median([NaN, 2, Infinity, 4])).toBe(3);
    expect(median([NaN])).toBeNaN();
    expect(median([])).toBeNaN();
  });
});
