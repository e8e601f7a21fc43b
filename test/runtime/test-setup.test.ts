/**
 * `npm test` sets itself up on a fresh machine of this project's kind: Debian's Chromium is installed
 * when missing and this is root, otherwise the run stops at once with the exact command.
 */
import assert from 'node:assert/strict';
import { planTestSetup, type Machine } from '../../scripts/test-setup';

const fresh: Machine = { exists: () => false, isRoot: true, hasAptGet: true, nodeVersion: 'v24.22.3' };

describe('test set-up (pretest)', () => {
  it('installs Debian chromium with apt-get update then install when it is missing and this is root', () => {
    const runs = planTestSetup(fresh).filter((s) => s.kind === 'run');
    assert.deepEqual(
      runs.map((s) => (s.kind === 'run' ? [s.command, ...s.args].join(' ') : '')),
      ['apt-get update', 'apt-get install -y chromium'],
    );
    assert.ok(runs.every((s) => s.kind === 'run' && s.env?.DEBIAN_FRONTEND === 'noninteractive'), 'apt-get never waits for a question');
  });

  it('stops at once with the exact command when chromium is missing and this is not root', () => {
    const steps = planTestSetup({ ...fresh, isRoot: false });
    const last = steps.at(-1)!;
    assert.equal(last.kind, 'stop');
    assert.match((last as { text: string }).text, /sudo apt-get update && sudo apt-get install -y chromium/);
    assert.ok(!steps.some((s) => s.kind === 'run'), 'nothing is run without root');
  });

  it('does nothing when chromium is there', () => {
    assert.deepEqual(planTestSetup({ ...fresh, exists: (f) => f === '/usr/bin/chromium' }), []);
  });

  it('stops naming CHROMIUM_PATH when it points at nothing, instead of installing another browser', () => {
    const steps = planTestSetup({ ...fresh, chromiumPath: '/opt/nowhere/chrome' });
    assert.deepEqual(steps.map((s) => s.kind), ['stop']);
    assert.match((steps[0] as { text: string }).text, /CHROMIUM_PATH is \/opt\/nowhere\/chrome/);
  });

  it('notes, without failing, a Node other than the supported 24 LTS', () => {
    const steps = planTestSetup({ ...fresh, exists: () => true, nodeVersion: 'v20.20.2' });
    assert.deepEqual(steps.map((s) => s.kind), ['note']);
    assert.match((steps[0] as { text: string }).text, /scripts\/node24\.sh/);
  });
});
