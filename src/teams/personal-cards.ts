/**
 * Teams' per-person cards: the request card names, in refresh.userIds, the Teams users whose client
 * asks the bot for their own view (the requester and the approvers). Teams names a user by an id of
 * its own (`activity.from.id`); until Countersign has seen a person, their Entra object id is given
 * in Teams' "8:orgid:" form.
 */
import type { ApprovalRequest } from '../domain/request';
import type { RequestCardOptions } from '../cards/request-card';
import { LruMap } from './bounded-storage';

/**
 * How many people's Teams ids are remembered: everyone of the allowed tenants who ever wrote or
 * clicked would otherwise be held for the life of the process. One forgotten is named in the
 * "8:orgid:" form again, which Teams also takes.
 */
const REMEMBERED_PEOPLE = 20_000;

export class TeamsUserIds {
  private readonly byObjectId: LruMap<string, string>;

  constructor(maxPeople = REMEMBERED_PEOPLE) {
    this.byObjectId = new LruMap(maxPeople);
  }

  /** Remembers the Teams id a person was seen with. */
  seen(aadObjectId: string | undefined, teamsId: string | undefined): void {
    if (aadObjectId && teamsId) this.byObjectId.set(aadObjectId.toLowerCase(), teamsId);
  }

  teamsIdOf(aadObjectId: string): string {
    return this.byObjectId.get(aadObjectId.toLowerCase()) ?? `8:orgid:${aadObjectId.toLowerCase()}`;
  }
}

/** The options of the card everyone shares: whose clients ask for their own view. */
export function sharedCardOptions(viewers: (r: ApprovalRequest) => string[], ids: TeamsUserIds, r: ApprovalRequest): RequestCardOptions {
  return { viewerIds: viewers(r).map((id) => ids.teamsIdOf(id)) };
}
