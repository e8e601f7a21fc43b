/**
 * A store whose next request update loses its commit's outcome on the way back (a connection broken
 * after COMMIT was sent): saved or not, the caller gets CommitOutcomeUnknownError once. And one whose
 * next read of a request in a given state meets a connection the network reset.
 */
import { CommitOutcomeUnknownError, type RequestStore } from '../../src/app/ports';
import type { RequestState } from '../../src/domain/request';

export function breakNextCommit(requests: RequestStore, saved: boolean): void {
  const update = requests.update.bind(requests);
  requests.update = async (next, expected, events) => {
    requests.update = update;
    if (saved) await update(next, expected, events);
    throw new CommitOutcomeUnknownError(new Error('Connection terminated unexpectedly'));
  };
}

/** The next read of a request stored in `state` fails as a read on a connection the network reset (PostgreSQL's pool). */
export function cutNextReadIn(requests: RequestStore, state: RequestState): void {
  const get = requests.get.bind(requests);
  requests.get = async (id) => {
    const stored = await get(id);
    if (stored?.state !== state) return stored;
    requests.get = get;
    throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  };
}
