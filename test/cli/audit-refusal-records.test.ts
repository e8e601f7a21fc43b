/**
 * The refusals recorded through the per-person budget (a `status` or card refresh of a request not
 * seen, an answer to a form not the person's, and a minute's count past the budget) are ordinary
 * records to the audit commands: the database verifies, they export in every format and verify
 * there, an export by request and an evidence bundle of the probed request carry them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REFUSAL_BUDGET } from '../../src/app/refusal-budget';
import { databaseFile } from '../../src/settings';
import { openSqliteStore } from '../../src/store/sqlite';
import { appOnStore } from '../support/app-on-fakes';
import { alice, carol, mallory, sourceIn } from '../support/people';
import { tempDir } from '../store/fixtures';
import { asked, settle } from '../app/steps';
import { audit } from './run-audit';

describe('countersign audit on the refusals recorded through the per-person budget', function () {
  this.timeout(60_000);
  const budget = { ...REFUSAL_BUDGET };
  let tmp: ReturnType<typeof tempDir>;
  afterEach(() => {
    Object.assign(REFUSAL_BUDGET, budget);
    tmp.remove();
  });

  it('verifies, exports in every format, and puts a probe of a request in its evidence bundle', async () => {
    tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    const f = appOnStore(await openSqliteStore({ file: databaseFile(dataDir) }));
    Object.assign(REFUSAL_BUDGET, { perMinute: 3 });
    const r = await asked(f, alice, 'delete resource group staging-old');
    const carolChat = sourceIn({ id: 'a:personal-carol', conversationType: 'personal' });
    await f.app.statusIn(carol, r.id, carolChat);
    await f.app.statusIn(carol, 'CS-7K3M9QXW', carolChat);
    await f.app.formAnswerRefused({ actor: mallory, source: sourceIn(), answer: 'confirm', command: 'deploy', answered: 'card-1', formOpen: false });
    for (let i = 0; i < 5; i++) await f.app.statusIn(mallory, `CS-7K3M9Q${i}A`, sourceIn());
    await f.app.flushRefusals();
    await settle(f);
    await f.store.close();

    const verified = await audit(['verify', '--data-dir', dataDir]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    for (const format of ['jsonl', 'csv', 'ocsf']) {
      const out = path.join(tmp.dir, `refused.${format === 'ocsf' ? 'ocsf.jsonl' : format}`);
      const exported = await audit(['export', '--format', format, '--type', 'request.refused', '--out', out, '--data-dir', dataDir]);
      assert.equal(exported.code, 0, exported.stderr);
      const check = await audit(['verify', '--file', out, '--data-dir', dataDir]);
      assert.equal(check.code, 0, `${format}: ${check.stdout}${check.stderr}`);
    }
    const lines = readFileSync(path.join(tmp.dir, 'refused.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { outcome: { reason: string }; data?: { repeated?: { people?: Record<string, number> } } });
    // Carol's two probes, the form answer (each kind's own budget), Mallory's own three probes (her
    // allowance is hers, not what Carol left of one shared), then the count of her other two.
    assert.deepEqual(lines.map((l) => l.outcome.reason), ['not-allowed-to-see', 'unknown-request', 'form-mismatch', 'unknown-request', 'unknown-request', 'unknown-request', 'repeated']);
    assert.deepEqual(lines[6].data?.repeated?.people, { [mallory.aadObjectId]: 2 });

    const byRequest = path.join(tmp.dir, 'request.jsonl');
    assert.equal((await audit(['export', '--format', 'jsonl', '--request', r.id, '--out', byRequest, '--data-dir', dataDir])).code, 0);
    assert.match(readFileSync(byRequest, 'utf8'), /"reason":"not-allowed-to-see"/);
    const evidence = path.join(tmp.dir, 'evidence');
    const bundled = await audit(['evidence', r.id, '--out', evidence, '--data-dir', dataDir]);
    assert.equal(bundled.code, 0, bundled.stdout + bundled.stderr);
    assert.match(readFileSync(path.join(evidence, 'events.jsonl'), 'utf8'), /"reason":"not-allowed-to-see"/);
    const bundleChecked = await audit(['verify', '--file', evidence, '--data-dir', dataDir]);
    assert.equal(bundleChecked.code, 0, bundleChecked.stdout + bundleChecked.stderr);
  });
});
