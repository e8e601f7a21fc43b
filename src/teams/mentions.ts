/**
 * The person a message names by @mention, as an identity Countersign can check: Teams sends each
 * mention as an entity `{type: 'mention', mentioned: {id: '29:…', name}}`, sometimes with the
 * Entra object id (`aadObjectId`). Either way the conversation's member record is asked for (GET
 * /v3/conversations/{id}/members/{memberId}, botbuilder's TeamsInfo.getMember), and its object id,
 * name and tenant are used: the entity is what the sender's client composed. The bot itself is never
 * the person named. Only what Teams says is used, never the text of the mention.
 */
import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { NamedPerson } from '../app/delegations';
import { actorOf } from './identity';

const ENTRA_OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface MentionEntity {
  type?: string;
  mentioned?: { id?: string; name?: string; aadObjectId?: string };
}

/** The people mentioned in the message, other than the bot (in order, without repeats). */
function mentionedPeople(context: TurnContext): { id: string; name: string; aadObjectId?: string }[] {
  const bot = context.activity.recipient?.id;
  const seen = new Set<string>();
  const people: { id: string; name: string; aadObjectId?: string }[] = [];
  for (const e of (context.activity.entities ?? []) as MentionEntity[]) {
    const m = e.type === 'mention' ? e.mentioned : undefined;
    if (typeof m?.id !== 'string' || !m.id || m.id === bot || seen.has(m.id)) continue;
    seen.add(m.id);
    // An Entra object id is a GUID; anything else in the entity is not used (the member record is asked instead).
    const aadObjectId = typeof m.aadObjectId === 'string' && ENTRA_OBJECT_ID.test(m.aadObjectId) ? m.aadObjectId : undefined;
    people.push({ id: m.id, name: (typeof m.name === 'string' && m.name ? m.name : m.id).slice(0, 200), ...(aadObjectId ? { aadObjectId } : {}) });
  }
  return people;
}

/**
 * The one person the message names, resolved to their Entra identity; undefined when it names no
 * one; `{unresolved}` with words for the sender when it names several or Teams cannot say who.
 */
export async function namedPerson(context: TurnContext): Promise<NamedPerson | undefined> {
  const people = mentionedPeople(context);
  if (people.length === 0) return undefined;
  if (people.length > 1) return { unresolved: `Name exactly one person with @mention; this message names ${people.length}.` };
  const [person] = people;
  const tenantId = actorOf(context.activity).tenantId;
  // Always the member record, even when the mention carries an object id: the entity is what the
  // sender's client composed, and its name and id are not evidence of who the person is.
  try {
    const member = (await TeamsInfo.getMember(context, person.id)) as { aadObjectId?: string; objectId?: string; name?: string; tenantId?: string };
    const aadObjectId = member.aadObjectId ?? member.objectId;
    if (!aadObjectId) return { unresolved: `Teams did not give the Microsoft Entra identity of ${person.name}, so Countersign cannot check who they are.` };
    if (person.aadObjectId && person.aadObjectId.toLowerCase() !== aadObjectId.toLowerCase()) {
      return { unresolved: `The mention of ${person.name} names the Entra object id ${person.aadObjectId}, but Teams says that member is ${aadObjectId}; nothing was changed. Mention the person again, picking them from the list.` };
    }
    return { aadObjectId, tenantId: member.tenantId ?? tenantId, name: (member.name ?? person.name).slice(0, 200) };
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    const why = status === 404 ? 'they are not a member of this conversation' : `Teams answered ${status ?? (err as Error).message}`;
    return { unresolved: `Countersign could not look up ${person.name} (${why}); nothing was changed. Mention someone in this conversation, or try again.` };
  }
}
