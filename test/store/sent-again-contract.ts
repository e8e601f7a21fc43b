/**
 * A typed message Teams sends again (same conversation and activity id, after a turn of more than
 * about 15 s), through the use cases on each backend of the Store contract: the second sending of
 * `delegate`, `revoke delegation` and `audit export` changes nothing, records nothing, and is
 * answered from what the first did, whether it comes after the first or at the same moment (on
 * several connections where the backend has them, and from another instance's store of the same
 * database where the backend can have several).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AppDeps } from '../../src/app/context';
import { delegateTo, revokeDelegation, type DelegationAnswer } from '../../src/app/delegations';
import { AuditorAccess } from '../../src/audit/access/auditor-access';
import { AuditSigner } from '../../src/audit/access/signing';
import { loadConfig, type CountersignConfig } from '../../src/config/load';
import type { CountersignStore as Store } from '../../src/store/countersign-store';
import { RecordingLog, RecordingNotifier, sequentialRequestIds, TestClock } from '../support/app-fakes';
import { MemoryAzure } from '../support/memory-azure';
import { bob, carol, EXAMPLE_CONFIG, erin, opsChannel, sourceIn } from '../support/people';
import { SUBSCRIPTION } from '../support/requests';
import { aRequest } from './fixtures';

const NOW = new Date('2026-11-02T09:00:00.000Z');
const ERIN_CHAT = { id: 'a:personal-user-erin', conversationType: 'personal' as const };
let config: CountersignConfig | undefined;

function depsOver(store: Store): AppDeps {
  config ??= loadConfig(EXAMPLE_CONFIG);
  return { store, azure: new MemoryAzure(true), notifier: new RecordingNotifier(), config, clock: new TestClock(NOW), ids: sequentialRequestIds(), log: new RecordingLog(), subscriptionId: SUBSCRIPTION };
}

/** What Teams sends as the message `activityId` in the operations channel, and the key the adapter derives from it. */
function message(activityId: string, conversation = opsChannel) {
  return { source: sourceIn(conversation, activityId), message: `message/${conversation.id}/${activityId}` };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function said(answer: DelegationAnswer): string {
  return answer.ok ? answer.text : `refused: ${answer.refusal.message}`;
}

/** `another`: a second instance's store of the same database, where the backend has that; else the same store. */
export function sentAgainContract(store: () => Store, another: () => Promise<Store>): void {
  describe('a typed message sent again, through the use cases', () => {
    const types = async (s: Store) => (await collect(s.audit.read())).map((r) => r.type);

    it('delegate: the second sending finds the first\'s delegation, keeps the approvals its delegate gave meanwhile, and records nothing', async () => {
      const deps = depsOver(store());
      const sent = { actor: bob, delegate: carol, when: 'for 2d', ...message('deleg-1') };
      const first = said(await delegateTo(deps, sent));
      assert.match(first, /^Carol NoRole can now approve and reject requests on your behalf/);
      const [made] = await store().delegations.inForce(NOW.toISOString());
      // Carol approved for Bob on a request that needs another approval.
      await store().requests.insert(aRequest('CS-REQ00001', { policy: { approvals: 2, approverRoles: ['platform-approvers'], ttlSeconds: 3600, version: 'b'.repeat(64) }, approvals: [{ approver: carol, onBehalfOf: bob, delegationId: made.id, at: NOW.toISOString(), operationHash: 'a'.repeat(64) }] }), []);
      const head = await store().audit.head();
      const again = said(await delegateTo(deps, sent));
      assert.match(again, new RegExp(`^This message already delegated to Carol NoRole, until 2026-11-04 09:00 UTC \\(delegation ${made.id}\\); nothing more was done\\.`));
      assert.deepEqual(await store().audit.head(), head, 'nothing recorded');
      assert.deepEqual(await store().delegations.inForce(NOW.toISOString()), [made]);
      const request = await store().requests.get('CS-REQ00001');
      assert.equal(request?.version, 1);
      assert.equal(request?.approvals.length, 1);
    });

    it('delegate: sent twice at the same moment, makes one delegation; the other sending is told of it', async () => {
      const sent = { actor: bob, delegate: carol, when: 'for 2d', ...message('deleg-2') };
      const stores = [store(), await another()];
      const answers = (await Promise.all(stores.map((s) => delegateTo(depsOver(s), sent)))).map(said);
      assert.equal(answers.filter((a) => a.startsWith('Carol NoRole can now approve')).length, 1, answers.join('\n'));
      assert.equal(answers.filter((a) => a.startsWith('This message already delegated to Carol NoRole')).length, 1, answers.join('\n'));
      assert.deepEqual(await types(store()), ['delegation.created']);
      assert.equal((await store().delegations.inForce(NOW.toISOString())).length, 1);
    });

    it('delegate: a message sent again after its delegation was revoked says so, and does not make it again', async () => {
      const deps = depsOver(store());
      const sent = { actor: bob, delegate: carol, when: 'for 2d', ...message('deleg-3') };
      said(await delegateTo(deps, sent));
      said(await revokeDelegation(deps, { actor: bob, ...message('revoke-3') }));
      const again = said(await delegateTo(deps, sent));
      assert.match(again, /^This message already delegated to Carol NoRole, .*; nothing more was done\. It has since been revoked, at 2026-11-02 09:00 UTC/);
      assert.deepEqual(await types(store()), ['delegation.created', 'delegation.revoked']);
      assert.deepEqual(await store().delegations.inForce(NOW.toISOString()), []);
    });

    it('revoke delegation: the second sending is told what the first revoked, and neither refused nor recorded', async () => {
      const deps = depsOver(store());
      said(await delegateTo(deps, { actor: bob, delegate: carol, when: 'for 2d', ...message('deleg-4') }));
      const [made] = await store().delegations.inForce(NOW.toISOString());
      const sent = { actor: bob, ...message('revoke-4') };
      assert.match(said(await revokeDelegation(deps, sent)), /^Revoked: Carol NoRole can no longer decide on your behalf/);
      const head = await store().audit.head();
      assert.equal(said(await revokeDelegation(deps, sent)), `This message already revoked your delegation to Carol NoRole (delegation ${made.id}); nothing more was done. Type "delegations" to see what is in force.`);
      assert.deepEqual(await store().audit.head(), head, 'nothing recorded');
      // Another message is another revocation: nothing in force, refused.
      assert.match(said(await revokeDelegation(deps, { actor: bob, ...message('revoke-5') })), /^refused: You have no delegation in force to revoke\./);
    });

    it('revoke delegation: sent twice at the same moment, revokes once; the other sending is told of it', async () => {
      said(await delegateTo(depsOver(store()), { actor: bob, delegate: carol, when: 'for 2d', ...message('deleg-6') }));
      const sent = { actor: bob, ...message('revoke-6') };
      const stores = [store(), await another()];
      const answers = (await Promise.all(stores.map((s) => revokeDelegation(depsOver(s), sent)))).map(said);
      assert.equal(answers.filter((a) => a.startsWith('Revoked: Carol NoRole')).length, 1, answers.join('\n'));
      assert.equal(answers.filter((a) => a.startsWith('This message already revoked your delegation to Carol NoRole')).length, 1, answers.join('\n'));
      assert.deepEqual(await types(store()), ['delegation.created', 'delegation.revoked']);
    });

    it('audit export: the second sending gets no second link, is told how to get one, and records nothing', async () => {
      const auditors = auditorAccess(store());
      const { source, message: key } = message('export-1', ERIN_CHAT);
      const args = ['export', '2026-11-01', '2026-11-03', 'jsonl'];
      const first = await auditors.teamsCommand(erin, source, args, key);
      assert.match(first.text, /^Your audit export \(JSONL, records from 2026-11-01T00:00:00\.000Z \(included\) until 2026-11-03T00:00:00\.000Z \(not included\)\) is ready: \[download it\]/);
      const [issued] = await collect(store().audit.read({ types: ['audit.export_link_issued'] }));
      const linkId = (issued.data as { linkId: string }).linkId;
      const head = await store().audit.head();
      const again = await auditors.teamsCommand(erin, source, args, key);
      assert.equal(again.links, undefined, 'no link in it');
      assert.equal(
        again.text,
        `This message already got a download link for an audit export (JSONL, records from 2026-11-01T00:00:00.000Z (included) until 2026-11-03T00:00:00.000Z (not included); link ${linkId}): it works once, until 2026-11-02T09:15:00.000Z. A link is shown only once, so it cannot be shown again; nothing more was issued. If you do not have it, type the command again for a new link: audit export <from> <to>.`,
      );
      assert.deepEqual(await store().audit.head(), head, 'nothing recorded');
    });

    it('audit export: sent twice at the same moment, issues one link; the other sending is told of it', async () => {
      const { source, message: key } = message('export-2', ERIN_CHAT);
      const stores = [store(), await another()];
      const answers = await Promise.all(stores.map((s) => auditorAccess(s).teamsCommand(erin, source, ['export', '2026-11-01', '2026-11-03'], key)));
      assert.equal(answers.filter((a) => a.links).length, 1, answers.map((a) => a.text).join('\n'));
      assert.equal(answers.filter((a) => a.text.startsWith('This message already got a download link')).length, 1, answers.map((a) => a.text).join('\n'));
      assert.deepEqual(await types(store()), ['audit.export_link_issued']);
    });
  });
}

const SIGNER = new AuditSigner(generateKeyPairSync('ed25519').privateKey);

function auditorAccess(store: Store): AuditorAccess {
  config ??= loadConfig(EXAMPLE_CONFIG);
  return new AuditorAccess({ store, signer: SIGNER, clock: new TestClock(NOW), log: new RecordingLog(), access: config.access, auditorRoles: config.auditorRoles, publicUrl: () => 'https://countersign.example' });
}
