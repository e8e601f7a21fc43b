/**
 * Teams' per-person cards: the request card names, in refresh.userIds, the Teams users whose client
 * asks the bot for their own view (the requester and the approvers). Teams names a user by an id of
 * its own (`activity.from.id`); until Countersign has seen a person, their Entra object id is given
 * in Teams' "8:orgid:" form.
 */
import type { ApprovalRequest } from '../domain/request';
import type { RequestCardOptions } from '../cards/request-card';

export class TeamsUserIds {
  private readonly byObjectId = new Map<string, string>();

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
