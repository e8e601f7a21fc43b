/**
 * The config's lists of Teams conversations (where a command may be asked for, where its cards and
 * break-glass notices are posted): each entry must be a Teams conversation id. A display name or a
 * link loaded and then matched nothing, or posted nowhere, without a word.
 */
import { conversationIdProblem } from '../domain/conversation-ids';
import type { RawConfig } from './types';
import type { At } from './validate';

export function checkConversationLists(input: RawConfig, at: At): void {
  const check = (ids: readonly unknown[] | undefined, key: (string | number)[]) =>
    (ids ?? []).forEach((id, j) => {
      // (One that is not text is said by the schema.)
      const problem = typeof id === 'string' ? conversationIdProblem(id) : undefined;
      if (problem) at([...key, j], problem);
    });
  input.commands.forEach((c, i) => {
    const policy = c.policy;
    check(policy?.conversations?.ids, ['commands', i, 'policy', 'conversations', 'ids']);
    check(policy?.notify?.channels, ['commands', i, 'policy', 'notify', 'channels']);
    check(policy?.breakGlass?.notify, ['commands', i, 'policy', 'breakGlass', 'notify']);
  });
  check(input.defaults?.notify?.channels, ['defaults', 'notify', 'channels']);
}
