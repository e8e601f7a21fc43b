import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { GENERATED_FILE, generateConfigValidator } from '../../scripts/config-validator/generate';
import { validateConfigText } from '../../src/config/validate';

describe('the config schema validator compiled ahead of time', () => {
  it('is what Ajv compiles from src/config/schema.ts today (else run npm run generate:config-validator)', () => {
    const committed = fs.readFileSync(path.resolve(__dirname, '..', '..', GENERATED_FILE), 'utf8');
    assert.ok(
      committed === generateConfigValidator(),
      `${GENERATED_FILE} is stale: src/config/schema.ts, a list of the domain it is built from (CHANGE_KINDS and QUERY_KINDS in src/domain/operation.ts, RISK_LEVELS, WEEKDAYS) or Ajv changed since it was generated; run npm run generate:config-validator`,
    );
  });

  it('reports a misspelt key with the schema it broke, as the compiled-at-start validator did', () => {
    const { problems } = validateConfigText('version: 1\ntenants: []\nrolez: {}\n', 'x.yaml');
    const keys = problems.map((p) => p.key);
    assert.ok(keys.includes('rolez'), JSON.stringify(problems));
    assert.match(problems.find((p) => p.key === 'rolez')!.problem, /unknown key.*roles/);
    assert.ok(keys.includes('tenants'), 'minItems still checked');
  });
});
