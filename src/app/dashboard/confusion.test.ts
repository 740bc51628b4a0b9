import { describe, expect, it } from 'vitest';
import { cellStyle, rowShare } from './confusion.ts';

describe('confusion shading', () => {
  it('shades by the share of the true class, green on the diagonal and red off it', () => {
    expect(rowShare(3, 4)).toBe(0.75);
    expect(rowShare(0, 0)).toBe(0);
    expect(cellStyle(0, true)).toEqual({ background: 'rgba(0, 114, 60, 0.000)', color: null });
    expect(cellStyle(1, true)).toEqual({ background: 'rgba(0, 114, 60, 1.000)', color: '#fff' });
    expect(cellStyle(0.001, false).background).toBe('rgba(190, 30, 30, 0.061)');
    expect(cellStyle(0.2, false).color).toBeNull();
  });
});
