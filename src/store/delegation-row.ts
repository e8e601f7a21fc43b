import type { Delegation } from '../domain/delegation';

/** The columns a delegation is queried by, beside its JSON body (the same in every backend; ids lowercase). */
export function delegationColumns(d: Delegation): { id: string; delegatorId: string; delegateId: string; createdAt: string; until: string } {
  return { id: d.id, delegatorId: d.delegator.aadObjectId.toLowerCase(), delegateId: d.delegate.aadObjectId.toLowerCase(), createdAt: d.createdAt, until: d.until };
}
