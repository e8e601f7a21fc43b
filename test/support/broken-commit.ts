/**
 * A store whose next request update loses its commit's outcome on the way back (a connection broken
 * after COMMIT was sent): saved or not, the caller gets CommitOutcomeUnknownError once.
 */
import { CommitOutcomeUnknownError, type RequestStore } from '../../src/app/ports';

export function breakNextCommit(requests: RequestStore, saved: boolean): void {
  const update = requests.update.bind(requests);
  requests.update = async (next, expected, events) => {
    requests.update = update;
    if (saved) await update(next, expected, events);
    throw new CommitOutcomeUnknownError(new Error('Connection terminated unexpectedly'));
  };
}
