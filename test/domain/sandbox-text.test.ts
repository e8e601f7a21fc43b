import assert from 'node:assert/strict';
import { sandboxText } from '../../src/domain/sandbox-text';

describe('sandbox text', () => {
  it('marks what is said about a sandbox request', () => {
    assert.equal(sandboxText('Request r-1 (restart-vm) succeeded.', true), '[SANDBOX] Request r-1 (restart-vm) succeeded.');
  });

  it('leaves text about Azure as it is', () => {
    assert.equal(sandboxText('Request r-1 (restart-vm) succeeded.', false), 'Request r-1 (restart-vm) succeeded.');
  });

  it('marks text once when it passes through two layers', () => {
    assert.equal(sandboxText(sandboxText('Request r-1 expired.', true), true), '[SANDBOX] Request r-1 expired.');
  });
});
