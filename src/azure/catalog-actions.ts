/**
 * The RBAC actions a whole catalog needs: every command's operation resolved with every value of its
 * enum parameters (other parameters take a sample value: names do not change which actions ARM
 * checks), then `requiredActions` of each. The Bicep custom role (deploy/role-actions.json) is
 * generated from and tested against this.
 */
import type { CommandSpec, ParameterSpec } from '../domain/catalog';
import { resolveOperation } from '../domain/catalog';
import type { ChangeOperation, QueryOperation } from '../domain/operation';
import { requiredActions } from './permissions';

export interface CatalogSource {
  catalog: { commands: CommandSpec[] };
  loadTemplate(relativePath: string): Record<string, unknown>;
}

const SAMPLE_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

/** Sorted, case-insensitively unique; each action with the commands that need it. */
export function catalogActions(config: CatalogSource): Map<string, string[]> {
  const needed = new Map<string, { action: string; commands: Set<string> }>();
  for (const command of config.catalog.commands) {
    for (const values of sampleValues(command.parameters)) {
      const op = resolveOperation(command, values, { subscriptionId: SAMPLE_SUBSCRIPTION, requestId: 'CS-ROLECHECK', loadTemplate: config.loadTemplate });
      for (const action of requiredActions(op as ChangeOperation | QueryOperation)) {
        const entry = needed.get(action.toLowerCase()) ?? { action, commands: new Set<string>() };
        entry.commands.add(command.name);
        needed.set(action.toLowerCase(), entry);
      }
    }
  }
  return new Map(
    [...needed.values()].sort((a, b) => (a.action < b.action ? -1 : a.action > b.action ? 1 : 0)).map((e) => [e.action, [...e.commands]]),
  );
}

function sampleValues(parameters: ParameterSpec[]): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const p of parameters) {
    const choices = p.type === 'enum' && p.allowed ? p.allowed : [p.default ?? (p.type === 'integer' ? String(p.min ?? 1) : 'sample')];
    combos = combos.flatMap((c) => choices.map((v) => ({ ...c, [p.name]: v })));
  }
  return combos;
}
