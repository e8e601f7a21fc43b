import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/store/ids';

describe('audit record ids', () => {
  it('are well-formed, distinct UUIDv7s across refills of the random pool', () => {
    const seen = new Set<string>();
    const at = Date.UTC(2026, 10, 2);
    for (let i = 0; i < 5000; i++) {
      const id = uuidv7(at + (i >> 8));
      assert.match(id, /^01a1998e-44[0-9a-f]{2}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5000);
  });
});
