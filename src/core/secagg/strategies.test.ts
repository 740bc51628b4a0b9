import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '../strategies/index.ts';
import { SECAGG_SUPPORT, secAggRefusal } from './strategies.ts';

describe('strategies under secure aggregation', () => {
  it('classifies every strategy, and refuses exactly those that need single updates', () => {
    expect(Object.keys(SECAGG_SUPPORT).sort()).toEqual([...STRATEGY_NAMES].sort());
    const refused = STRATEGY_NAMES.filter((s) => secAggRefusal(s) !== null);
    expect(refused.sort()).toEqual(['krum', 'median', 'multi-krum', 'trimmed-mean']);
    expect(secAggRefusal('krum')).toMatch(/only their sum/);
    expect(secAggRefusal('fedadam')).toBeNull();
  });
});
