/** The card of a scheduled request and of a break-glass use. */
import assert from 'node:assert/strict';
import { requestCard } from '../../src/cards/request-card';
import { cardActions, cardText } from '../support/connector';
import { minutesIn, requestIn } from '../support/requests';

describe('cards: scheduled and break-glass requests', () => {
  it('shows when a scheduled request runs in the reader\'s time, and offers Cancel until it starts', () => {
    const r = requestIn('scheduled', { runAt: '2026-03-07T02:00:00.000Z' });
    const card = requestCard(r);
    assert.match(cardText(card), /APPROVED, SCHEDULED[\s\S]*Runs at \{\{DATE\(2026-03-07T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-07T02:00:00Z\)\}\}/);
    assert.deepEqual(cardActions(card).map((a) => [a.verb, a.title]), [['cancel', 'Cancel before it runs']]);
  });

  it('says a scheduled request whose approval ran out was approved but not run, never that nobody approved it', () => {
    const r = requestIn('scheduled', { runAt: '2026-03-07T02:00:00.000Z', expiresAt: '2026-03-07T01:00:00.000Z' });
    const text = cardText(requestCard({ ...r, state: 'expired', outcomeDetail: 'Not executed: it was scheduled for 2026-03-07 02:00 UTC but had not started when its approval stopped being valid at 2026-03-07 01:00 UTC. Ask again.' }));
    assert.match(text, /^Approved, but not run: it was to run at \{\{DATE\(2026-03-07T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-07T02:00:00Z\)\}\} and had not started when its approval stopped being valid\. Nothing was sent to Azure\./m);
    assert.doesNotMatch(text, /Nobody approved it/);
    assert.match(cardText(requestCard(requestIn('expired'))), /^Nobody approved it in time\./m, 'one nobody approved says so');
  });

  it('says a request approved for now (or a break-glass use) that expired unstarted was approved but not run, and one approved in part what it still needed, never that nobody approved it', () => {
    const approved = requestIn('approved');
    assert.ok(approved.approvals.length > 0 && approved.runAt === undefined);
    const lapsed = cardText(requestCard({ ...approved, state: 'expired' }));
    assert.match(lapsed, /^Approved, but not run: it had not started when its approval stopped being valid\. Nothing was sent to Azure\./m);
    assert.doesNotMatch(lapsed, /Nobody approved it/);
    const breakGlass = { reason: 'INC-4711', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() };
    assert.match(cardText(requestCard({ ...approved, approvals: [], breakGlass, state: 'expired' })), /^Not run: it had not started when its break-glass use stopped being valid\./m);
    const half = { ...approved, state: 'expired' as const, policy: { ...approved.policy, approvals: approved.approvals.length + 1 } };
    const partial = cardText(requestCard(half));
    assert.match(partial, /^It did not get every approval it needs in time: still needed .*\(1 of 2\)\. Ask again if it is still needed\./m);
    assert.doesNotMatch(partial, /Nobody approved it|Approved, but not run/);
  });

  it('says a scheduled request cancelled before its time never ran', () => {
    const r = requestIn('scheduled', { runAt: '2026-03-07T02:00:00.000Z' });
    const text = cardText(requestCard({ ...r, state: 'cancelled', cancellation: { by: r.requester, at: minutesIn(30).toISOString() } }));
    assert.match(text, /^Cancelled by Alice Requester, .*\nIt was approved and to run at \{\{DATE\(2026-03-07T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-07T02:00:00Z\)\}\}; cancelled before it started, nothing was sent to Azure\.$/m);
    assert.doesNotMatch(cardText(requestCard(requestIn('cancelled'))), /nothing was sent/, 'a request cancelled while it waited for approval needs no such line');
  });

  it('says BREAK-GLASS in every state, and offers Ratify and Flag only once it ran and only to who may review', () => {
    const breakGlass = { reason: 'INC-4711', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() };
    const running = requestCard(requestIn('executing', { approvals: [], breakGlass }));
    assert.match(cardText(running), /BREAK-GLASS · EXECUTING[\s\S]*BREAK-GLASS: run by Alice Requester without approval/);
    assert.deepEqual(cardActions(running).map((a) => a.verb).filter((v) => v === 'ratify' || v === 'flag'), []);
    const done = requestIn('succeeded', { approvals: [], breakGlass });
    assert.deepEqual(cardActions(requestCard(done)).map((a) => a.verb), ['ratify', 'flag']);
    assert.deepEqual(cardActions(requestCard(done, { viewer: { canApprove: false, canReject: false, canCancel: true, canReview: false } })).map((a) => a.verb), []);
    assert.match(cardText(requestCard(done)), /BREAK-GLASS review by an approver \(not the requester\) due/);
  });

  it('says a break-glass use ran without approval, never that someone asks or that it was approved (until it drifts)', () => {
    const breakGlass = { reason: 'INC-4711', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() };
    const text = cardText(requestCard(requestIn('approved', { approvals: [], breakGlass, reason: 'INC-4711 the tag blocks the cleanup' })));
    assert.match(text, /^Alice Requester used \*\*break-glass\*\* to \*\*.+\*\* without approval: INC-4711 the tag blocks the cleanup$/m);
    assert.match(text, /BREAK-GLASS · RUNS WITHOUT APPROVAL/);
    assert.match(text, /No approval: run on break-glass\. An approver from platform-approvers, not the requester, reviews it once it has ended\./);
    assert.doesNotMatch(text, /asks to|0 of 1 approval|· APPROVED/);
    // Drifted, it waits for approval like any request, and says so.
    const drifted = cardText(requestCard(requestIn('needs_reapproval', { approvals: [], breakGlass, drift: { detectedAt: minutesIn(2).toISOString(), changes: ['x'], previousOperationHash: 'a'.repeat(64) } })));
    assert.match(drifted, /asks to/);
    assert.match(drifted, /Needs 1 approval again/);
  });

  it('says whom a break-glass use\'s loud notice could not reach, running or ended, until it is reviewed', () => {
    const breakGlass = { reason: 'INC-4711', usedAt: minutesIn(1).toISOString(), reviewDueAt: minutesIn(60).toISOString() };
    const unreachable = [{ id: '19:security-notices@thread.tacv2', why: 'Countersign has not been added there' }];
    const line = /Could not reach: 19:security-notices@thread\.tacv2 \(Countersign has not been added there\)\./;
    assert.match(cardText(requestCard(requestIn('executing', { approvals: [], breakGlass, unreachable }))), line);
    assert.match(cardText(requestCard(requestIn('succeeded', { approvals: [], breakGlass, unreachable }))), line);
    const reviewed = { ...breakGlass, review: { verdict: 'ratified' as const, by: requestIn('pending').requester, at: minutesIn(5).toISOString() } };
    assert.doesNotMatch(cardText(requestCard(requestIn('succeeded', { approvals: [], breakGlass: reviewed, unreachable }))), /Could not reach/);
    assert.doesNotMatch(cardText(requestCard(requestIn('succeeded', { unreachable }))), /Could not reach/, 'an ordinary request once decided: as before');
  });

  it('tells approvers, before they decide, that an approval will not run at once: the time asked for, or the windows', () => {
    const asked = requestIn('pending', { requestedRunAt: '2026-03-07T02:00:00.000Z' });
    assert.match(cardText(requestCard(asked)), /Needs 1 approval from .*: none yet\. Once approved, it waits to run until \{\{DATE\(2026-03-07T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-07T02:00:00Z\)\}\}, as its requester asked\./);
    const windows = [{ days: ['sat' as const], from: '02:00', to: '05:00', zone: 'UTC' }];
    const inWindow = requestIn('pending', { policy: { ...asked.policy, schedule: { windows, maxAheadSeconds: 604_800 } } });
    assert.match(cardText(requestCard(inWindow)), /Once approved, it runs only in its command's maintenance windows\./);
    assert.doesNotMatch(cardText(requestCard(requestIn('pending'))), /Once approved/, 'one that runs at once says nothing of it');
  });

  it('says a scheduled request to approve again, its drift found when it was to run, runs once approved again, not that it waits until a time past', () => {
    const drift = { detectedAt: '2026-03-07T02:00:05.000Z', changes: ['x'], previousOperationHash: 'a'.repeat(64) };
    const drifted = requestIn('needs_reapproval', { approvals: [], requestedRunAt: '2026-03-07T02:00:00.000Z', drift });
    const text = cardText(requestCard(drifted));
    assert.doesNotMatch(text, /waits to run until/);
    assert.match(text, /It was to run at \{\{DATE\(2026-03-07T02:00:00Z, SHORT\)\}\} \{\{TIME\(2026-03-07T02:00:00Z\)\}\}, as its requester asked: once approved again, it runs at once\./);
    const windows = [{ days: ['sat' as const], from: '02:00', to: '05:00', zone: 'UTC' }];
    const inWindow = { ...drifted, policy: { ...drifted.policy, schedule: { windows, maxAheadSeconds: 604_800 } } };
    assert.match(cardText(requestCard(inWindow)), /as its requester asked: once approved again, it runs in its command's maintenance windows \(at once if one is open\)\./);
  });
});
