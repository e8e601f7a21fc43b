import assert from 'node:assert/strict';
import { Catalog, checkParameters, checkValue, type CommandSpec } from '../../src/domain/catalog';
import { catalog, cmd, deleteGroup, deploy, restart, scale, tag } from './catalog-fixtures';
import { checkRequestInput } from '../../src/domain/request-input';

/** Checks a whole message the way the bot does: parse, then bind and check the parameters. */
function check(text: string) {
  const p = catalog.parse(text);
  if (!p) assert.fail(`"${text}" matched no command`);
  return checkParameters(p.command, p);
}

function problems(text: string): Record<string, string> {
  const result = check(text);
  if (result.ok) assert.fail(`expected problems with "${text}", got ${JSON.stringify(result.values)}`);
  return Object.fromEntries(result.problems.map((p) => [p.parameter, p.message]));
}

function values(text: string): Record<string, string> {
  const result = check(text);
  if (!result.ok) assert.fail(`expected "${text}" to be complete, got ${JSON.stringify(result.problems)}`);
  return result.values;
}

describe('checking the parameters of a command', () => {
  it('binds positional words to the parameters in declared order', () => {
    assert.deepEqual(values('deploy staging api-service'), { environment: 'staging', service: 'api-service' });
  });

  it('binds name=value words by name and fills the rest from positional words', () => {
    assert.deepEqual(values('deploy service=web-frontend production'), { environment: 'production', service: 'web-frontend' });
  });

  it('names a parameter given both in its place and by name, with both values, instead of shifting the words onto the next parameter', () => {
    assert.deepEqual(problems('deploy production api-service environment=staging'), {
      environment: 'environment is given twice: "production" in its place and environment=staging by name; give it once',
    });
    assert.deepEqual(values('deploy api-service environment=staging'), { environment: 'staging', service: 'api-service' });
  });

  it('names a parameter typed again after "reason:" (read as the reason\'s words), taking the word in its place as its own, not as one too many', () => {
    assert.deepEqual(problems('deploy staging api-service reason: release 2.4 service=web-frontend'), {
      service: 'service=web-frontend is after "reason:", so it was read as part of the reason, not as service: give each parameter once, before "reason:"',
    });
    assert.deepEqual(Object.keys(problems('deploy staging reason: release 2.4 service=web-frontend')), ['service']);
    assert.deepEqual(values('deploy staging api-service reason: release 2.4, "service=web-frontend" next week'), { environment: 'staging', service: 'api-service' });
    assert.deepEqual(values('deploy staging api-service reason: release version=2.4'), { environment: 'staging', service: 'api-service' });
    // A parameter with a problem and no word in its place takes none of the next one's: service is still api-service.
    const typo = check('deploy env=staging api-service');
    assert.deepEqual([typo.values, typo.ok ? [] : typo.problems.map((p) => p.parameter)], [{ service: 'api-service' }, ['environment']]);
  });

  it('names a reason typed twice, required or not, with both reasons', () => {
    const input = (text: string) => {
      const p = catalog.parse(text) ?? assert.fail(`"${text}" matched no command`);
      return checkRequestInput(p.command, p);
    };
    const twice = input('deploy staging api-service reason: release 2.4 reason: hotfix 99');
    assert.deepEqual(twice.ok ? [] : twice.problems, [
      { parameter: 'reason', message: 'the reason is given twice, after "reason:" each time ("release 2.4" and "hotfix 99"): give one reason, after one "reason:" (to write "reason:" inside it, put that part in double quotes)' },
    ]);
    const thrice = input('deploy staging api-service reason: a reason: b REASON: c');
    assert.match(thrice.ok ? '' : thrice.problems[0].message, /^the reason is given 3 times, after "reason:" each time \("a", "b" and "c"\)/);
    assert.equal(input('deploy staging api-service reason: release "reason: 2.4"').ok, true);
    // "reason:" again with nothing after it: not taken as the reason "release 2.4 reason:".
    const stray = input('deploy staging api-service reason: release 2.4 reason:');
    assert.deepEqual(stray.ok ? [] : stray.problems, [
      { parameter: 'reason', message: '"reason:" is given again after the reason ("release 2.4 reason:"): give the reason once, after one "reason:" (to write "reason:" inside it, put that part in double quotes)' },
    ]);
    assert.equal(input('deploy staging api-service reason: release 2.4 "reason:"').ok, true, 'quoted, it is the reason\'s own word');
    assert.equal(input('deploy staging api-service reason: release 2.4 treason: none').ok, true);
  });

  it('turns an enum value into its declared spelling', () => {
    assert.deepEqual(values('deploy PRODUCTION Api-Service'), { environment: 'production', service: 'api-service' });
  });

  it('names each missing parameter with the values it may take', () => {
    assert.deepEqual(problems('deploy'), {
      environment: 'environment is missing (one of production, staging)',
      service: 'service is missing (one of api-service, web-frontend)',
    });
  });

  it('names a missing parameter with its description when it is not an enum', () => {
    assert.deepEqual(problems('delete resource group'), { name: "name is missing (the resource group's name)" });
  });

  it('treats name= with nothing after it as missing', () => {
    assert.deepEqual(problems('deploy staging service='), { service: 'service is missing (one of api-service, web-frontend)' });
  });

  it('treats a quoted blank as missing rather than as an empty value', () => {
    assert.deepEqual(problems('tag rg-ops owner "   "'), { value: 'value is missing' });
  });

  it('refuses an enum value that is not allowed, listing the allowed values and what was given', () => {
    assert.deepEqual(problems('deploy prod api-service'), { environment: 'environment must be one of production, staging; got "prod"' });
  });

  it('refuses extra words and says which parameters the command takes', () => {
    assert.deepEqual(problems('deploy staging api-service now please'), {
      '(extra)': '"now please" is more than deploy takes: it takes 2 parameters, environment and service',
    });
  });

  it('says a run time typed with its date and time apart is one word, instead of only calling it more than the command takes', () => {
    assert.deepEqual(problems('deploy staging api-service at 2026-12-07 02:00'), {
      '(extra)': '"at 2026-12-07 02:00" is more than deploy takes: it takes 2 parameters, environment and service. To run it later, write the date and its time as one word, joined by T: "at 2026-12-07T02:00"',
    });
    assert.match(problems('deploy staging api-service at 2026-12-07 2:00Z')['(extra)'], /joined by T: "at 2026-12-07T02:00Z"$/);
    // A read-only command runs at once: no run time to suggest.
    const list: CommandSpec = { name: 'groups', description: 'list', sensitive: false, parameters: [], operation: { kind: 'listResourceGroups' } };
    const extra = checkParameters(list, { args: ['at', '2026-12-07', '02:00'], named: {} });
    assert.deepEqual(!extra.ok && extra.problems, [{ parameter: '(extra)', message: '"at 2026-12-07 02:00" is more than groups takes: it takes no parameters' }]);
  });

  it('says a reason is written with its colon when "reason" without one was read as more parameters', () => {
    assert.deepEqual(problems('deploy staging api-service reason release 2.4'), {
      '(extra)': '"reason release 2.4" is more than deploy takes: it takes 2 parameters, environment and service. A reason is written after "reason:", with its colon: "reason: release 2.4"',
    });
  });

  it('returns the values that were fine alongside the problems, so a form can keep them', () => {
    const result = check('deploy staging nonsense');
    assert.equal(result.ok, false);
    assert.deepEqual(result.values, { environment: 'staging' });
  });

  it('accepts whole numbers within bounds and writes them plainly', () => {
    assert.deepEqual(values('scale api 007'), { app: 'api', instances: '7' });
    assert.deepEqual(values('scale api 1'), { app: 'api', instances: '1' });
    assert.deepEqual(values('scale api 10'), { app: 'api', instances: '10' });
  });

  it('refuses numbers that are not whole or fall outside the bounds, saying which bound', () => {
    assert.deepEqual(problems('scale api 2.5'), { instances: 'instances must be a whole number; got "2.5"' });
    assert.deepEqual(problems('scale api many'), { instances: 'instances must be a whole number; got "many"' });
    assert.deepEqual(problems('scale api 0'), { instances: 'instances must be at least 1; got 0' });
    assert.deepEqual(problems('scale api -3'), { instances: 'instances must be at least 1; got -3' });
    assert.deepEqual(problems('scale api 11'), { instances: 'instances must be at most 10; got 11' });
    assert.deepEqual(problems('scale api 9007199254740993'), { instances: 'instances must be at most 10; got 9007199254740993' }, 'the number as typed, not as a double rounds it');
  });

  it('uses the default of a parameter that was left out, and a given value over the default', () => {
    assert.deepEqual(values('scale api'), { app: 'api', instances: '2' });
    assert.deepEqual(values('restart app web'), { app: 'web', slot: 'production' });
    assert.deepEqual(values('restart app web STAGING'), { app: 'web', slot: 'staging' });
    assert.deepEqual(values('restart app slot=staging app=web'), { app: 'web', slot: 'staging' });
  });

  it('refuses, in a value placed in a template\'s file path, what would make it load another template', () => {
    const free = cmd('ship', [{ name: 'svc', type: 'string' }], { kind: 'deployTemplate', resourceGroup: 'rg-apps', template: 'templates/{svc}.json' });
    const only = new Catalog([free]);
    const checked = (text: string) => {
      const p = only.parse(text)!;
      const r = checkParameters(p.command, p);
      return r.ok ? r.values : Object.fromEntries(r.problems.map((x) => [x.parameter, x.message]));
    };
    assert.deepEqual(checked('ship ../restricted/prod'), { svc: `svc "../restricted/prod" cannot be part of a deployment template's file name: "/" would make it name another template file` });
    assert.deepEqual(checked('ship ..prod'), { svc: `svc "..prod" cannot be part of a deployment template's file name: ".." would make it name another template file` });
    assert.deepEqual(checked('ship api.v2'), { svc: 'api.v2' });
  });

  it('refuses a value that does not match the parameter pattern, showing the pattern', () => {
    assert.deepEqual(problems('delete resource group "rg with spaces"'), {
      name: 'name "rg with spaces" does not match the allowed form ^[A-Za-z0-9][A-Za-z0-9._()-]{0,88}[A-Za-z0-9_()-]$ (name: the resource group\'s name)',
    });
    assert.deepEqual(problems('scale API'), { app: 'app "API" does not match the allowed form ^[a-z][a-z0-9-]*$' });
  });

  it('refuses, in a value placed in a resource id or an ARM path, what would make it name another resource, even without a pattern', () => {
    const another = '../../../../production-db/providers/Microsoft.Sql/servers/core-ledger';
    assert.equal(problems(`restart app ${another}`).app, `app "${another}" cannot be part of an Azure resource id: "/" would make it name another resource`);
    assert.match(problems('restart app ..').app, /^app cannot be "\.\.": in an Azure resource id it would name another resource$/);
    for (const v of ['web\\api', 'web?x=1', 'web#x', 'web%2Fapi']) assert.match(problems(`restart app "${v}"`).app, /cannot be part of an Azure resource id/, v);
    assert.match(problems('tag "prod/other" env x').group, /cannot be part of an Azure resource id/, 'a scope too');
    assert.deepEqual(values('tag prod-rg env a/b?c'), { group: 'prod-rg', key: 'env', value: 'a/b?c' }, 'a tag value is not part of the path');
    assert.deepEqual(values('restart app web.v2'), { app: 'web.v2', slot: 'production' });
  });

  it('refuses, in a value placed in a resource id, a trailing dot, which no Azure name has and which can be dropped on the way', () => {
    // The example's tag and resources patterns allow a dot anywhere: "production-api." is not production-api on the card.
    assert.equal(problems('tag production-api. env x').group, 'group "production-api." cannot end with ".": no Azure resource\'s name does, and on the way to Azure the dot can be dropped, naming production-api instead; type it without the dot');
    assert.match(problems('restart app "web..."').app, /^app "web\.\.\." cannot end with "\.": .*naming web instead/);
    assert.deepEqual(values('tag prod-rg env v1.'), { group: 'prod-rg', key: 'env', value: 'v1.' }, 'a tag value is not part of the path');
    assert.deepEqual(values('tag prod.rg env x'), { group: 'prod.rg', key: 'env', value: 'x' }, 'a dot inside a name is a dot');
  });

  it('trusts what the config itself fixes in a path: an enum\'s values and a default may hold "/"', () => {
    const show = cmd(
      'show thing',
      [
        { name: 'type', type: 'enum', allowed: ['Microsoft.Web/sites', 'Microsoft.Sql/servers'] },
        { name: 'name', type: 'string', default: 'web/api' },
      ],
      { kind: 'showResource', resourceId: '/subscriptions/{subscriptionId}/resourceGroups/rg/providers/{type}/{name}', apiVersion: '2023-01-01' },
    );
    assert.deepEqual(checkParameters(show, { args: ['microsoft.web/sites'], named: {} }), { ok: true, values: { type: 'Microsoft.Web/sites', name: 'web/api' } });
    const typed = checkParameters(show, { args: ['Microsoft.Web/sites', 'other/api'], named: {} });
    assert.equal(typed.ok, false, 'a typed value is still checked');
  });

  it('refuses a string longer than 200 characters', () => {
    assert.deepEqual(problems(`tag rg-ops owner ${'x'.repeat(201)}`), { value: 'value is 201 characters long (at most 200 are accepted)' });
    assert.equal(values(`tag rg-ops owner ${'x'.repeat(200)}`).value, 'x'.repeat(200));
  });

  it('trims the spaces around a quoted value', () => {
    assert.deepEqual(values('tag rg-ops owner "  Jane Doe "'), { group: 'rg-ops', key: 'owner', value: 'Jane Doe' });
  });

  it('takes no parameters for a command that declares none, naming that in the extra-words message', () => {
    const list: CommandSpec = { name: 'groups', description: 'list', sensitive: false, parameters: [], operation: { kind: 'listResourceGroups' } };
    assert.deepEqual(checkParameters(list, { args: [], named: {} }), { ok: true, values: {} });
    const extra = checkParameters(list, { args: ['x'], named: {} });
    assert.equal(extra.ok, false);
    assert.deepEqual(!extra.ok && extra.problems, [{ parameter: '(extra)', message: '"x" is more than groups takes: it takes no parameters' }]);
  });
});

describe('checking one value', () => {
  it('answers undefined for a good value and a sentence for a bad one', () => {
    const [environment] = deploy.parameters;
    assert.equal(checkValue(environment, ' Staging '), undefined);
    assert.equal(checkValue(environment, 'qa'), 'environment must be one of production, staging; got "qa"');
    assert.equal(checkValue(tag.parameters[1], '1bad'), 'key "1bad" does not match the allowed form ^[A-Za-z][A-Za-z0-9_.-]{0,63}$');
    assert.equal(checkValue(scale.parameters[1], ' 3 '), undefined);
    assert.equal(checkValue(restart.parameters[0], 'anything goes'), undefined);
    assert.equal(checkValue(deleteGroup.parameters[0], 'staging-old'), undefined);
  });
});
