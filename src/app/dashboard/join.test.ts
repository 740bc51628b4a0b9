import { encode } from 'uqr';
import { describe, expect, it } from 'vitest';
import { qrPath } from './join.ts';

describe('qrPath', () => {
  it('draws one run per horizontal stretch of dark modules', () => {
    expect(
      qrPath([
        [true, true, false, true],
        [false, false, false, false],
        [false, true, true, true],
      ]),
    ).toBe('M0 0h2v1h-2zM3 0h1v1h-1zM1 2h3v1h-3z');
  });

  it('covers exactly the dark modules of a real code', () => {
    const qr = encode('http://192.168.1.5:8080/?autojoin=1#fp=q3xo-abcd-efgh-ijkl', { ecc: 'M', border: 2 });
    const d = qrPath(qr.data);
    const dark = qr.data.flat().filter(Boolean).length;
    let covered = 0;
    for (const m of d.matchAll(/h(\d+)v1/g)) covered += Number(m[1]);
    expect(covered).toBe(dark);
    expect(qr.size).toBe(qr.data.length);
  });
});
