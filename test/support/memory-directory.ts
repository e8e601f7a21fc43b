/**
 * Entra group membership in memory, for the use-case tests: direct members per group, and failures
 * on chosen calls (the Graph adapter's own behaviour is tested against a fake Graph, test/azure).
 */
import { DirectoryError, type Directory } from '../../src/app/ports';

export class MemoryDirectory implements Directory {
  readonly members = new Map<string, Set<string>>();
  /** Every lookup: who, and the groups asked about. */
  readonly calls: { person: string; groups: string[] }[] = [];
  private failing: ((call: number) => string | undefined) | undefined;

  add(groupId: string, person: string): this {
    const key = groupId.toLowerCase();
    this.members.set(key, (this.members.get(key) ?? new Set()).add(person.toLowerCase()));
    return this;
  }

  remove(groupId: string, person: string): this {
    this.members.get(groupId.toLowerCase())?.delete(person.toLowerCase());
    return this;
  }

  /** From now on (or on the calls `when` picks, counted from 1), lookups fail with `detail`. */
  fail(detail: string | undefined, when: (call: number) => boolean = () => true): this {
    this.failing = detail === undefined ? undefined : (call) => (when(call) ? detail : undefined);
    return this;
  }

  async groupsOf(aadObjectId: string, candidateGroupIds: readonly string[]): Promise<Set<string>> {
    this.calls.push({ person: aadObjectId.toLowerCase(), groups: [...candidateGroupIds] });
    const detail = this.failing?.(this.calls.length);
    if (detail) throw new DirectoryError(candidateGroupIds, detail);
    return new Set(candidateGroupIds.filter((g) => this.members.get(g.toLowerCase())?.has(aadObjectId.toLowerCase())));
  }
}
