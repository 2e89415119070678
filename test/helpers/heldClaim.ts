/**
 * Holds back the answer of a store's claim: the first call that claims anything commits as
 * usual, but its caller hears of it only once `answer()` is called (what a slow event loop, or
 * a shutdown beginning meanwhile, looks like to the caller).
 */
import type { Store } from '../../src/store/store';
import { waitFor } from './arcServer';

type ClaimMethod = 'claimTurns' | 'claimDeliveries';

export function holdClaimAnswer(store: Store, method: ClaimMethod) {
  const claim = (store[method] as (...args: unknown[]) => Promise<unknown[]>).bind(store);
  let answer!: () => void;
  const held = new Promise<void>((resolve) => (answer = resolve));
  let claimedOne = false;
  (jest.spyOn(store, method) as jest.SpyInstance).mockImplementation(async (...args: unknown[]) => {
    const claimed = await claim(...args);
    if (claimed.length > 0) {
      claimedOne = true;
      await held;
    }
    return claimed;
  });
  return {
    /** Resolves once a claim has claimed something (its answer held). */
    claimed: () => waitFor('the claim', async () => (claimedOne ? true : undefined)),
    answer,
  };
}
