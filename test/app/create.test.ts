/** Asking for an operation: who may, what is recorded, what approvers will see. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256Hex } from '../../src/domain/canonical';
import { RefusalReason } from '../../src/domain/refusal';
import { appOnFakes, START, SUBSCRIPTION, type AppOnFakes } from '../support/app-on-fakes';
import { alice, carol, dave, EXAMPLE_CONFIG, mallory, opsChannel, sourceIn } from '../support/people';
import { ask, asked, freshFakesEachTest } from './steps';
import { requestCard } from '../../src/cards/request-card';
import { cardText } from '../support/connector';

describe('app: creating a request', () => {
  let f: AppOnFakes;
  freshFakesEachTest({ set: (made) => (f = made), get: () => f });

  it('makes one request of one confirmation, however many times and on however many instances it is answered', async () => {
    const meant = f.app.interpret('delete resource group staging-old');
    assert.ok(meant.kind === 'ready');
    const attempt = { command: meant.command, values: meant.values, actor: alice, source: sourceIn(opsChannel, 'confirm-1'), answering: { key: `${opsChannel.id}/confirmation-1`, what: 'confirmation' as const } };
    const [first, second] = await Promise.all([f.app.createRequest(attempt), f.app.createRequest(attempt)]);
    const made = [first, second].filter((r) => r.ok);
    assert.equal(made.length, 1);
    const id = made[0].ok ? made[0].request.id : '';
    const other = [first, second].find((r) => !r.ok);
    assert.deepEqual(other, { ok: false, error: `This confirmation already created request ${id}. Type "status ${id}" to see where it stands.` });
    assert.equal((await f.audit({ types: ['request.created'] })).length, 1);
    // Another confirmation, of another operation, makes its own.
    const other2 = f.app.interpret('delete resource group staging-older');
    assert.ok(other2.kind === 'ready');
    assert.equal((await f.app.createRequest({ ...attempt, values: other2.values, answering: { key: `${opsChannel.id}/confirmation-2`, what: 'confirmation' as const } })).ok, true);
  });

  it('makes one request of a typed message Teams sends again (same id, after a slow turn), before the rate counts it again', async () => {
    const meant = f.app.interpret('delete resource group staging-old');
    assert.ok(meant.kind === 'ready');
    const attempt = { command: meant.command, values: meant.values, actor: alice, source: sourceIn(opsChannel, 'incoming-1'), answering: { key: `message/${opsChannel.id}/incoming-1`, what: 'message' as const } };
    const first = await f.app.createRequest(attempt);
    assert.ok(first.ok);
    const snapshots = f.azure.snapshotCalls.length;
    const again = await f.app.createRequest(attempt);
    assert.deepEqual(again, { ok: false, error: `This message already created request ${first.request.id}. Type "status ${first.request.id}" to see where it stands.` });
    // Nothing was read from Azure again, and nothing more recorded.
    assert.equal(f.azure.snapshotCalls.length, snapshots);
    assert.equal((await f.audit({ types: ['request.created'] })).length, 1);
    assert.equal((await f.audit()).filter((r) => r.type === 'request.refused').length, 0);
  });

  it('stores a pending request with its parameters resolved into the operation, and audits it', async () => {
    const r = await asked(f, alice, 'delete resource group staging-old reason: cleanup after the migration');
    const stored = await f.request(r.id);
    assert.deepEqual(stored, r);
    assert.equal(r.id, 'CS-00000001');
    assert.equal(r.state, 'pending');
    assert.equal(r.version, 1);
    assert.deepEqual(r.parameters, { name: 'staging-old' });
    assert.deepEqual(r.operation, { kind: 'deleteResourceGroup', subscriptionId: SUBSCRIPTION, resourceGroup: 'staging-old' });
    assert.deepEqual(r.target, { subscriptionId: SUBSCRIPTION, resourceGroup: 'staging-old' });
    assert.equal(r.reason, 'cleanup after the migration');
    assert.deepEqual(r.requester, alice);
    assert.deepEqual(r.policy, { approvals: 1, approverRoles: ['platform-approvers'], ttlSeconds: 3600, version: f.config.hash, notify: { approvers: 'personal', channels: [] } });
    assert.equal(r.createdAt, START.toISOString());
    assert.equal(r.expiresAt, new Date(START.getTime() + 3600_000).toISOString());
    assert.match(r.operationHash, /^[0-9a-f]{64}$/);
    const [created] = await f.audit();
    assert.equal(created.type, 'request.created');
    assert.deepEqual(created.actor, alice);
    assert.equal(created.request?.id, r.id);
    assert.equal(created.request?.operationHash, r.operationHash);
    assert.equal(created.source?.conversationId, opsChannel.id);
    assert.deepEqual(created.outcome, { result: 'ok', detail: 'needs 1 approval(s) from platform-approvers' });
  });

  it('records the target as it is now, which drift detection compares before executing', async () => {
    f.azure.setTarget('/subscriptions/00000000-0000-4000-8000-00000000abcd/resourceGroups/rg-web', { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    const r = await asked(f, alice, 'tag rg-web owner platform-team');
    assert.deepEqual(r.baseline, { exists: true, etag: 'e1', facts: { 'tags.owner': 'web-team' } });
    assert.equal(f.azure.snapshotCalls.length, 1);
    assert.equal(r.whatIf, undefined);
  });

  it("records a deployment's what-if, which approvers see on the card", async () => {
    f.azure.whatIfs.set('staging-api-service', { status: 'Succeeded', changes: [{ resourceId: '/x/sites/api', changeType: 'Modify', changedPaths: ['properties.httpsOnly'] }] });
    const r = await asked(f, alice, 'deploy staging api-service');
    assert.deepEqual(r.whatIf, { status: 'Succeeded', changes: [{ resourceId: '/x/sites/api', changeType: 'Modify', changedPaths: ['properties.httpsOnly'] }] });
    assert.equal(f.azure.whatIfCalls.length, 1);
    assert.equal(r.operation.kind, 'deployTemplate');
    assert.equal(r.baseline, undefined);
  });

  it('refuses a deployment whose name, filled from what the requester typed, Azure would not take, before anyone is asked to approve it', async () => {
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const labelled = example
      .replace('        allowed: [api-service, web-frontend]\n    operation:\n      kind: deployTemplate\n', '        allowed: [api-service, web-frontend]\n      - name: release\n    operation:\n      kind: deployTemplate\n      deploymentName: "{service}-{release}"\n');
    assert.notEqual(labelled, example);
    f = appOnFakes({ configText: labelled });
    const result = await ask(f, alice, 'deploy staging api-service 2.6+hotfix');
    assert.deepEqual(result, { ok: false, error: 'Cannot prepare "deploy": deploymentName "api-service-2.6+hotfix" holds "+", which Azure does not take in a deployment\'s name (A-Z, a-z, 0-9, _, (, ), - and . only)' });
    assert.deepEqual(await f.store.requests.list({}), [], 'nothing stored, so nobody is asked');
    assert.deepEqual((await f.audit({ types: ['request.created'] })).length, 0);
    // A name Azure takes makes the request.
    const made = await asked(f, alice, 'deploy staging api-service 2.6-hotfix');
    assert.equal(made.operation.kind === 'deployTemplate' && made.operation.deploymentName, 'api-service-2.6-hotfix');
  });

  it('refuses someone without a requester role, audits the refusal and stores nothing', async () => {
    const result = await ask(f, carol, 'delete resource group staging-old');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && 'refusal' in result && result.refusal.reason, RefusalReason.NotAllowedToRequest);
    assert.deepEqual(await f.store.requests.list({}), []);
    const records = await f.audit();
    assert.deepEqual(
      records.map((x) => [x.type, x.actor?.name, x.outcome.result, x.outcome.reason]),
      [['request.refused', 'Carol NoRole', 'refused', RefusalReason.NotAllowedToRequest]],
    );
    assert.deepEqual(records[0].data, { command: 'delete resource group', parameters: { name: 'staging-old' } });
    assert.equal(f.azure.snapshotCalls.length, 0, 'Azure is not read for a refused request');
  });

  it('refuses a requester from another tenant', async () => {
    const result = await ask(f, mallory, 'delete resource group staging-old');
    assert.equal(!result.ok && 'refusal' in result && result.refusal.reason, RefusalReason.TenantNotAllowed);
    assert.deepEqual((await f.audit()).map((x) => x.type), ['request.refused']);
  });

  it('lets anyone holding a requester role ask (Dave as well as Alice)', async () => {
    const r = await asked(f, dave, 'delete resource group staging-old');
    assert.equal(r.requester.name, 'Dave Lead');
  });

  it('does not put up a request whose target cannot be read, and records no creation', async () => {
    f.azure.failNextSnapshot('AuthorizationFailed: no read access');
    const result = await ask(f, alice, 'tag rg-web owner platform-team');
    assert.equal(result.ok, false);
    assert.match(!result.ok && 'error' in result ? result.error : '', /could not read the target.*AuthorizationFailed: no read access/);
    assert.deepEqual(await f.store.requests.list({}), []);
    assert.deepEqual(await f.audit(), []);
  });

  it('deploys a template as the config loaded it, under the policy version naming its bytes, though the file was edited since', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-edited-template-'));
    try {
      fs.cpSync(path.dirname(EXAMPLE_CONFIG), dir, { recursive: true });
      const template = path.join(dir, 'templates', 'web-frontend.json');
      const loaded = JSON.parse(fs.readFileSync(template, 'utf8')) as { resources: unknown[] };
      const g = appOnFakes({ configFile: path.join(dir, path.basename(EXAMPLE_CONFIG)) });
      const first = await asked(g, alice, 'deploy staging web-frontend reason: release 2.6');
      fs.writeFileSync(template, JSON.stringify({ ...loaded, resources: [...loaded.resources, { type: 'Microsoft.Storage/storageAccounts', name: 'exfilstorage123' }] }));
      const second = await asked(g, dave, 'deploy staging web-frontend reason: release 2.6 testing');
      for (const r of [first, second]) assert.deepEqual(r.operation.kind === 'deployTemplate' && r.operation.template, loaded);
      // The version recorded names the template's bytes as loaded, not only the YAML's.
      assert.notEqual(g.config.hash, g.config.fileHash);
      const original = fs.readFileSync(path.join(path.dirname(EXAMPLE_CONFIG), 'templates', 'web-frontend.json'));
      assert.equal(g.config.templates.find((t) => t.path === 'templates/web-frontend.json')?.sha256, sha256Hex(original));
      assert.deepEqual((await g.audit({ types: ['request.created'] })).map((r) => r.request?.policyVersion), [g.config.hash, g.config.hash]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates nothing of a reason typed twice, or a parameter typed again after "reason:": the form says which, naming both', async () => {
    const twice = f.app.interpret('delete resource group staging-old reason: cleanup after migration 42 reason: ticket CHG-7');
    assert.ok(twice.kind === 'incomplete', twice.kind);
    assert.deepEqual(twice.problems, [
      { parameter: 'reason', message: 'the reason is given twice, after "reason:" each time ("cleanup after migration 42" and "ticket CHG-7"): give one reason, after one "reason:" (to write "reason:" inside it, put that part in double quotes)' },
    ]);
    // As a break-glass use: refused, nothing run.
    const glass = f.app.interpret('break-glass delete resource group staging-old reason: outage INC-42 reason: key leaked');
    assert.ok(glass.kind === 'break-glass' && glass.request.kind === 'incomplete', JSON.stringify(glass));
    const again = f.app.interpret('delete resource group staging-old reason: cleanup after migration 42 name=production-api');
    assert.ok(again.kind === 'incomplete', again.kind);
    assert.deepEqual(again.problems, [
      { parameter: 'name', message: 'name=production-api is after "reason:", so it was read as part of the reason, not as name: give each parameter once, before "reason:"' },
    ]);
    // Quoted, they are the reason's words.
    assert.equal(f.app.interpret('delete resource group staging-old reason: cleanup, see "reason: name=x" in CHG-7').kind, 'ready');
    assert.deepEqual(await f.store.requests.list({}), [], 'nothing was requested');
  });

  it('records a request in a subscription configured as production as production, whatever its group is named: the card says so and the risk rises', async () => {
    const example = fs.readFileSync(EXAMPLE_CONFIG, 'utf8');
    const configText = example.replace('  subscriptionId: ""\n', `  subscriptionId: ""\n  environments:\n    production: [${SUBSCRIPTION.toUpperCase()}]\n`);
    const g = appOnFakes({ configText });
    const account = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp01`;
    g.azure.setTarget(account, { exists: true, facts: {} });
    const r = await asked(g, alice, 'delete storage account rg-app stapp01 reason: decommission');
    assert.equal(r.environment, 'production');
    assert.equal(r.risk, 'critical');
    const text = cardText(requestCard(r));
    assert.match(text, /asks to \*\*delete stapp01 \(Microsoft\.Storage\/storageAccounts\) in PRODUCTION\*\*/);
    assert.match(text, /CRITICAL RISK: DELETES a resource in PRODUCTION/);
    // Without the block, the same request says nothing of where it runs, and is one band lower.
    f.azure.setTarget(account, { exists: true, facts: {} });
    const plain = await asked(f, alice, 'delete storage account rg-app stapp01 reason: decommission');
    assert.equal(plain.environment, undefined);
    assert.equal(plain.risk, 'high');
    // The trail alone says what each card showed its approvers: the risk band, and the environment when one was named.
    const [shown] = await g.audit({ types: ['request.created'] });
    assert.deepEqual({ risk: shown.data?.risk, environment: shown.data?.environment }, { risk: 'critical', environment: 'production' });
    const [plainShown] = await f.audit({ types: ['request.created'] });
    assert.deepEqual(plainShown.data, { expectationHash: plainShown.data?.expectationHash, risk: 'high' });
  });

  it('creates nothing of "reason:" typed twice in a row: the form says so, with the reason as typed, in the message and in the form alike', async () => {
    const message = 'the reason starts with "reason:" again ("reason: cleanup after migration 42"): give the reason once, after one "reason:" (to start it with the word "reason:", put that part in double quotes)';
    const twice = f.app.interpret('delete resource group staging-old reason: reason: cleanup after migration 42');
    assert.ok(twice.kind === 'incomplete', twice.kind);
    assert.deepEqual(twice.problems, [{ parameter: 'reason', message }]);
    const glass = f.app.interpret('break-glass delete resource group staging-old Reason:  REASON: cleanup after migration 42');
    assert.ok(glass.kind === 'break-glass' && glass.request.kind === 'incomplete', JSON.stringify(glass));
    // The form's Reason field, sent back as it was filled in, is refused the same way.
    const form = await f.app.checkForm({ command: twice.command, named: twice.values, values: twice.values, actor: alice, source: sourceIn(opsChannel, 'form-1'), reason: twice.reason ?? '' });
    assert.deepEqual(form.ok ? [] : form.problems, [{ parameter: 'reason', message }]);
    // Quoted at its start, the word is the reason's own.
    assert.equal(f.app.interpret('delete resource group staging-old reason: "reason:" cleanup after migration 42').kind, 'ready');
    assert.deepEqual(await f.store.requests.list({}), [], 'nothing was requested');
  });

  it('tells what is missing from an incomplete request instead of creating one', () => {
    const meant = f.app.interpret('delete resource group');
    assert.equal(meant.kind, 'incomplete');
    assert.deepEqual(meant.kind === 'incomplete' && meant.problems.map((p) => p.parameter), ['name']);
  });
});
