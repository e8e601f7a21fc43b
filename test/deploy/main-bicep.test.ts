import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { declarationBody, declarations, readParams, withoutComments } from './bicep-text';

const deployDir = path.resolve(__dirname, '../../deploy');
const read = (file: string): string => fs.readFileSync(path.join(deployDir, file), 'utf8');
const main = read('main.bicep');
const mainCode = withoutComments(main);

/** A `name: 'X'` app setting entry followed by its value expression. */
function appSettingValue(name: string): string | undefined {
  return new RegExp(`\\{\\s*name:\\s*'${name}',\\s*value:\\s*([^}]+?)\\s*\\}`).exec(mainCode)?.[1];
}

describe('deploy/main.bicep', () => {
  describe('web app', () => {
    const webApp = declarationBody(main, 'resource', 'webApp');

    it('is a Linux Node 24 LTS app that only serves HTTPS with TLS 1.2 or later', () => {
      assert.match(webApp, /^resource webApp 'Microsoft\.Web\/sites@/);
      assert.match(webApp, /kind: 'app,linux'/);
      assert.match(webApp, /httpsOnly: true/);
      assert.match(webApp, /minTlsVersion: '1\.2'/);
      assert.match(webApp, /linuxFxVersion: 'NODE\|24-lts'/);
      assert.match(webApp, /ftpsState: 'Disabled'/);
    });

    it('stays warm and is health-checked on /healthz', () => {
      assert.match(webApp, /alwaysOn: true/);
      assert.match(webApp, /healthCheckPath: '\/healthz'/);
    });

    it('runs on a Linux plan of a tier that supports Always On', () => {
      const plan = declarationBody(main, 'resource', 'plan');
      assert.match(plan, /reserved: true/);
      const sku = readParams(main).find((p) => p.name === 'appServiceSku');
      const allowed = sku?.decorators.find((d) => d.startsWith('@allowed'));
      assert.ok(allowed, 'appServiceSku has @allowed');
      assert.doesNotMatch(allowed, /'(F1|D1|FREE|SHARED)'/i);
    });

    it('carries the settings the bot reads, with the identity and insights wired in', () => {
      assert.equal(appSettingValue('MicrosoftAppId'), 'botAppId');
      assert.equal(appSettingValue('MicrosoftAppType'), 'botAppType');
      assert.equal(appSettingValue('MicrosoftAppTenantId'), 'tenant().tenantId');
      assert.equal(appSettingValue('AZURE_CLIENT_ID'), 'identity.properties.clientId');
      assert.equal(appSettingValue('COUNTERSIGN_CONFIG'), 'countersignConfigPath');
      assert.equal(appSettingValue('COUNTERSIGN_DATA_DIR'), 'countersignDataDir');
      assert.equal(appSettingValue('APPLICATIONINSIGHTS_CONNECTION_STRING'), 'appInsights.properties.ConnectionString');
      assert.equal(appSettingValue('COUNTERSIGN_HOST'), "'0.0.0.0'");
      assert.match(webApp, /appSettings: concat\(coreAppSettings, /);
    });

    it('runs the deployment package as built (no build on the server) and sends telemetry only through Countersign', () => {
      assert.equal(appSettingValue('SCM_DO_BUILD_DURING_DEPLOYMENT'), "'false'");
      assert.doesNotMatch(main, /ApplicationInsightsAgent_EXTENSION_VERSION'/, 'the auto-instrumentation agent would send a second copy');
    });

    it('keeps the data directory and config on /home, which persists', () => {
      for (const name of ['countersignDataDir', 'countersignConfigPath']) {
        const param = new RegExp(`^param ${name} string = '([^']+)'`, 'm').exec(mainCode);
        assert.ok(param, `${name} has a default`);
        assert.match(param[1], /^\/home\//);
      }
    });

    it('starts node itself, the package\'s start script without npm and its shell, so a stop signal reaches node', () => {
      const start = (JSON.parse(fs.readFileSync(path.join(deployDir, '..', 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
      assert.equal(start, 'exec node --max-semi-space-size=16 --enable-source-maps dist/main.js', 'the shell npm runs the script in becomes node');
      assert.match(webApp, /appCommandLine: 'node --max-semi-space-size=16 --enable-source-maps dist\/main\.js'/);
    });

    it('runs as the user-assigned identity', () => {
      assert.match(webApp, /type: 'UserAssigned'/);
      assert.match(webApp, /'\$\{identity\.id\}': \{\}/);
    });
  });

  describe('bot', () => {
    const bot = declarationBody(main, 'resource', 'bot');

    it('registers an Azure Bot whose app type is a parameter: UserAssignedMSI or SingleTenant', () => {
      assert.match(bot, /^resource bot 'Microsoft\.BotService\/botServices@/);
      assert.match(bot, /msaAppType: botAppType/);
      assert.match(bot, /msaAppTenantId: tenant\(\)\.tenantId/);
      assert.match(bot, /msaAppMSIResourceId: usesManagedIdentityForBot \? identity\.id : null/);
      const param = readParams(main).find((p) => p.name === 'botAppType');
      assert.ok(param?.decorators.includes("@allowed(['UserAssignedMSI', 'SingleTenant'])"));
      assert.match(mainCode, /^var botAppId = usesManagedIdentityForBot \? identity\.properties\.clientId : .* : singleTenantAppId$/m);
    });

    it('points the messaging endpoint at the web app over https', () => {
      assert.match(bot, /endpoint: 'https:\/\/\$\{webApp\.properties\.defaultHostName\}\/api\/messages'/);
    });

    it('has the Microsoft Teams channel enabled', () => {
      const channel = declarationBody(main, 'resource', 'teamsChannel');
      assert.match(channel, /'Microsoft\.BotService\/botServices\/channels@/);
      assert.match(channel, /parent: bot/);
      assert.match(channel, /name: 'MsTeamsChannel'/);
      assert.match(channel, /channelName: 'MsTeamsChannel'/);
      assert.match(channel, /isEnabled: true/);
    });
  });

  describe('monitoring and storage', () => {
    it('sends telemetry to Application Insights backed by a Log Analytics workspace', () => {
      assert.match(declarationBody(main, 'resource', 'appInsights'), /WorkspaceResourceId: workspace\.id/);
      assert.match(declarationBody(main, 'resource', 'webAppDiagnostics'), /'AppServiceConsoleLogs'/);
    });

    it('creates PostgreSQL only when deployPostgres is true', () => {
      assert.match(mainCode, /^param deployPostgres bool = false$/m);
      assert.match(mainCode, /^module postgres 'modules\/postgres\.bicep' = if \(deployPostgres\) \{/m);
      assert.ok(readParams(main).find((p) => p.name === 'postgresAdminPassword')?.decorators.includes('@secure()'));
    });

    it('with PostgreSQL: chooses it, logs in with the managed identity\'s Entra token (no password in the settings), runs at least two instances, each told how many there are', () => {
      assert.equal(appSettingValue('COUNTERSIGN_STORE'), "'postgres'");
      assert.equal(appSettingValue('COUNTERSIGN_DATABASE_AUTH'), "'entra'");
      assert.equal(appSettingValue('COUNTERSIGN_DATABASE_CLIENT_ID'), 'identity.properties.clientId');
      assert.equal(appSettingValue('PGUSER'), 'identity.name');
      assert.equal(appSettingValue('PGSSLMODE'), "'verify-full'");
      assert.equal(appSettingValue('PGPASSWORD'), undefined);
      assert.equal(appSettingValue('COUNTERSIGN_INSTANCES'), 'string(postgresInstanceCount)', 'each instance keeps to its share of Teams\' rate limits');
      assert.match(declarationBody(main, 'resource', 'plan'), /capacity: deployPostgres \? postgresInstanceCount : 1/);
      assert.match(main, /@minValue\(2\)\s+@maxValue\(10\)\s+param postgresInstanceCount int = 2/);
      const pgModule = withoutComments(read('modules/postgres.bicep'));
      assert.match(pgModule, /activeDirectoryAuth: 'Enabled'/);
      assert.match(pgModule, /flexibleServers\/administrators@/);
    });
  });

  describe('PostgreSQL without an Entra administrator', () => {
    it('is refused at deployment, naming the parameters: nobody could create the app\'s database principal', () => {
      const pg = declarationBody(main, 'module', 'postgres');
      const value = /entraAdminObjectId: (.+)$/m.exec(pg)?.[1] ?? '';
      const guard = /^deployPostgres && \(empty\(postgresEntraAdminObjectId\) \|\| empty\(postgresEntraAdminName\)\) \? fail\('(.*)'\) : postgresEntraAdminObjectId$/.exec(value);
      assert.ok(guard, `the module's entraAdminObjectId fails without an administrator: ${value}`);
      assert.match(guard[1], /^deployPostgres=true needs postgresEntraAdminObjectId and postgresEntraAdminName/);
      for (const name of ['postgresEntraAdminObjectId', 'postgresEntraAdminName']) {
        assert.ok(readParams(main).some((p) => p.name === name && p.decorators.some((d) => /required with it/.test(d))), `${name} says it is required`);
      }
    });

    it('always creates the Entra administrator of a server it creates', () => {
      const pgModule = read('modules/postgres.bicep');
      assert.match(declarationBody(pgModule, 'resource', 'entraAdmin'), /^resource entraAdmin '[^']+' = \{/);
    });
  });

  describe('parameters that cannot work together', () => {
    /** The `var <name> = ...` line's expression. */
    const variable = (name: string) => new RegExp(`^var ${name} = (.+)$`, 'm').exec(mainCode)?.[1] ?? '';

    it('refuses a role scoped to a resource group without one, or to the bot\'s own group, naming the parameter', () => {
      const scope = variable('roleScopeId');
      assert.match(scope, /^manageWholeSubscription \? subscription\(\)\.id : empty\(targetResourceGroupName\) \? fail\('roleAssignmentScope=resourceGroup needs targetResourceGroupName[^']*'\) : /);
      assert.match(scope, / : toLower\(targetResourceGroupName\) == toLower\(resourceGroup\(\)\.name\) \? fail\('targetResourceGroupName must not be the resource group the bot is deployed to: Countersign could then delete itself and its audit data\.[^']*'\) : '\$\{subscription\(\)\.id\}\/resourceGroups\/\$\{targetResourceGroupName\}'$/);
      assert.match(declarationBody(main, 'module', 'operatorRole'), /assignableScope: roleScopeId/);
    });

    it('refuses a SingleTenant bot without its app registration\'s id and secret, naming both', () => {
      assert.match(variable('botAppId'), /^usesManagedIdentityForBot \? identity\.properties\.clientId : empty\(singleTenantAppId\) \|\| empty\(singleTenantAppPassword\) \? fail\('botAppType=SingleTenant needs singleTenantAppId and singleTenantAppPassword: [^']*'\) : singleTenantAppId$/);
    });

    it('refuses PostgreSQL without the password of the administrator login that creates the schema', () => {
      const value = /administratorLoginPassword: (.+)$/m.exec(declarationBody(main, 'module', 'postgres'))?.[1] ?? '';
      assert.match(value, /^deployPostgres && empty\(postgresAdminPassword\) \? fail\('deployPostgres=true needs postgresAdminPassword: [^']*'\) : postgresAdminPassword$/);
    });
  });

  describe('files', () => {
    it('refers only to modules and JSON files that exist', () => {
      const files = [main, ...declarations(main, 'module').map((m) => read(m.target))];
      assert.ok(declarations(main, 'module').length >= 3);
      for (const ref of [...mainCode.matchAll(/loadJsonContent\('([^']+)'\)/g)].map((m) => m[1])) {
        assert.ok(fs.existsSync(path.join(deployDir, ref)), `${ref} exists`);
      }
      for (const source of files) assert.ok(source.length > 0);
    });

    it('pins an API version on every resource', () => {
      const sources = [main, ...declarations(main, 'module').map((m) => read(m.target))];
      for (const { symbol, target } of sources.flatMap((s) => declarations(s, 'resource'))) {
        assert.match(target, /^[\w.]+\/[\w/]+@\d{4}-\d{2}-\d{2}(-preview)?$/, `${symbol}: ${target}`);
      }
    });
  });

  describe('README walkthrough', () => {
    const readme = read('README.md');

    it('reads only outputs and sets only parameters that main.bicep declares', () => {
      const outputs = new Set([...mainCode.matchAll(/^output (\w+) /gm)].map((m) => m[1]));
      const used = [...readme.matchAll(/\$\(output (\w+)\)/g)].map((m) => m[1]);
      assert.ok(used.length >= 5);
      for (const name of used) assert.ok(outputs.has(name), `README reads output ${name}`);
      const params = new Set(readParams(main).map((p) => p.name));
      const set = [...readme.matchAll(/--parameters ((?:\w+=\S+ ?)+)/g)].flatMap((m) =>
        m[1].trim().split(' ').map((kv) => kv.split('=')[0]),
      );
      assert.ok(set.length >= 4);
      for (const name of set) assert.ok(params.has(name), `README sets parameter ${name}`);
    });
  });
});
