/** The deployment templates are part of the config as loaded: read, checked and hashed with it, kept in memory. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';
import { sha256Hex } from '../../src/domain/canonical';
import { fixture } from './fixtures';

const MINIMAL = fs.readFileSync(fixture('valid-minimal.yaml'), 'utf8');
const TEMPLATE = '{"resources": []}';

/** A config folder of its own: the YAML as `countersign.yaml` and the given files beside it. */
function folderWith(yaml: string, files: Record<string, string>): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-templates-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const file = path.join(dir, 'countersign.yaml');
  fs.writeFileSync(file, yaml);
  return { dir, file };
}

/** The policy version as docs/configuration.md computes it with sha256sum. */
function byHand(dir: string, yamlFile: string, templates: string[]): string {
  const lines = templates.map((t) => `${sha256Hex(fs.readFileSync(path.join(dir, t)))}  ${t}\n`).join('');
  return sha256Hex(`${sha256Hex(fs.readFileSync(yamlFile))}\n${lines}`);
}

function problemsLoading(file: string): string[] {
  try {
    loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.problem}`);
    throw err;
  }
  return assert.fail('the config loaded');
}

/** valid-minimal.yaml's deployment with its template chosen by a free `service` parameter. */
const FREE_SERVICE = MINIMAL.replace(
  '      - name: environment\n        allowed: [production, staging]\n',
  '      - name: environment\n        allowed: [production, staging]\n      - name: service\n        pattern: "^[a-z]+$"\n',
).replace('template: templates/app.json', 'template: templates/{service}.json');

describe('config: deployment templates, loaded with the config', () => {
  const made: string[] = [];
  const folder = (yaml: string, files: Record<string, string>) => {
    const f = folderWith(yaml, files);
    made.push(f.dir);
    return f;
  };
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('deploys a template as it was when the config loaded: one edited on disk since takes effect at the next load, under a new policy version', () => {
    const { dir, file } = folder(MINIMAL, { 'templates/app.json': TEMPLATE });
    const config = loadConfig(file);
    assert.deepEqual(config.templates.map((t) => t.path), ['templates/app.json']);
    assert.equal(config.hash, byHand(dir, file, ['templates/app.json']));

    const edited = '{"resources": [{"type": "Microsoft.Storage/storageAccounts", "name": "exfilstorage123"}]}';
    fs.writeFileSync(path.join(dir, 'templates/app.json'), edited);
    assert.deepEqual(config.loadTemplate('templates/app.json'), { resources: [] });
    assert.deepEqual(config.loadTemplate('./templates/app.json'), { resources: [] });

    const next = loadConfig(file);
    assert.deepEqual(next.loadTemplate('templates/app.json'), JSON.parse(edited));
    assert.notEqual(next.hash, config.hash);
    assert.equal(next.fileHash, config.fileHash);
    assert.equal(next.hash, byHand(dir, file, ['templates/app.json']));
  });

  it('gives each request a template of its own, which changing does not change the next', () => {
    const { file } = folder(MINIMAL, { 'templates/app.json': TEMPLATE });
    const config = loadConfig(file);
    (config.loadTemplate('templates/app.json').resources as unknown[]).push({ name: 'x' });
    assert.deepEqual(config.loadTemplate('templates/app.json'), { resources: [] });
  });

  it('keeps a template deleted or broken after the load: a request finds it as checked', () => {
    const { dir, file } = folder(MINIMAL, { 'templates/app.json': TEMPLATE });
    const config = loadConfig(file);
    fs.writeFileSync(path.join(dir, 'templates/app.json'), '{ broken');
    assert.deepEqual(config.loadTemplate('templates/app.json'), { resources: [] });
    fs.rmSync(path.join(dir, 'templates/app.json'));
    assert.deepEqual(config.loadTemplate('templates/app.json'), { resources: [] });
    assert.match(problemsLoading(file).join('\n'), /template file templates\/app\.json not found/);
  });

  it('keeps the file\'s own SHA-256 as the policy version of a config naming no template', () => {
    const noDeploy = MINIMAL.replace(/ {2}- name: deploy app[\s\S]*?(?= {2}- name: groups)/, '');
    const { file } = folder(noDeploy, {});
    const config = loadConfig(file);
    assert.deepEqual(config.templates, []);
    assert.equal(config.hash, sha256Hex(fs.readFileSync(file)));
  });

  it('reads every file a free placeholder can name, in byte order of their paths, and none its parameter refuses', () => {
    const { dir, file } = folder(FREE_SERVICE, {
      'templates/web.json': TEMPLATE,
      'templates/api.json': TEMPLATE,
      // Not a value of `service` (^[a-z]+$): never named by a request, so not read.
      'templates/api.parameters.json': '{"parameters": {}}',
      'templates/README.md': '# notes',
    });
    const config = loadConfig(file);
    assert.deepEqual(config.templates.map((t) => t.path), ['templates/api.json', 'templates/web.json']);
    assert.equal(config.hash, byHand(dir, file, ['templates/api.json', 'templates/web.json']));
    assert.throws(() => config.loadTemplate('templates/other.json'), /template file templates\/other\.json not found \(looked in .* when the config was loaded\)/);
  });

  it('refuses at load a file a free placeholder can name that is no ARM template, and a path that names no file', () => {
    const broken = folder(FREE_SERVICE, { 'templates/api.json': TEMPLATE, 'templates/web.json': '{"resource": []}' });
    assert.deepEqual(problemsLoading(broken.file), [
      'commands[1].operation.template: template file templates/web.json is not a valid ARM template: it has no "resources" (a file templates/{service}.json can name: all of them are read at start)',
    ]);
    const none = folder(FREE_SERVICE, { 'other/api.json': TEMPLATE });
    assert.deepEqual(problemsLoading(none.file), [`commands[1].operation.template: template templates/{service}.json names no file in ${none.dir} (the templates a request can name are read at start)`]);
  });

  it('reads a UTF-8 template saved with a byte order mark, hashing its bytes, and names one in another encoding', () => {
    // Visual Studio and Windows PowerShell save JSON with a BOM, which az deployment takes.
    const { dir, file } = folder(MINIMAL, { 'templates/app.json': `\uFEFF${TEMPLATE}` });
    const config = loadConfig(file);
    assert.deepEqual(config.loadTemplate('templates/app.json'), { resources: [] });
    assert.equal(config.hash, byHand(dir, file, ['templates/app.json']));
    const utf16 = folder(MINIMAL, {});
    fs.mkdirSync(path.join(utf16.dir, 'templates'));
    fs.writeFileSync(path.join(utf16.dir, 'templates/app.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEMPLATE, 'utf16le')]));
    assert.deepEqual(problemsLoading(utf16.file), ["commands[1].operation.template: template file templates/app.json is UTF-16 text (as Windows PowerShell's Out-File writes it): save it as UTF-8"]);
    fs.writeFileSync(path.join(utf16.dir, 'templates/app.json'), Buffer.from('{"resources": [], "metadata": {"owner": "Ren\xe9"}}', 'latin1'));
    assert.deepEqual(problemsLoading(utf16.file), ['commands[1].operation.template: template file templates/app.json is not UTF-8 text (a byte in it is no UTF-8 character; Latin-1 or Windows-1252, say): save it as UTF-8']);
  });

  it('reads a key set file (audit.http.jwksFile) saved with a byte order mark, and names one in another encoding', () => {
    const http = MINIMAL.replace('commands:\n', 'audit:\n  http:\n    issuer: https://i.example/v2.0\n    audience: a\n    role: r\n    jwksFile: jwks.json\ncommands:\n');
    const keys = JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] });
    const withBom = folder(http, { 'templates/app.json': TEMPLATE, 'jwks.json': `\uFEFF${keys}` });
    assert.deepEqual(loadConfig(withBom.file).audit.http?.jwks, { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' }] });
    const utf16 = folder(http, { 'templates/app.json': TEMPLATE });
    fs.writeFileSync(path.join(utf16.dir, 'jwks.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(keys, 'utf16le')]));
    assert.deepEqual(problemsLoading(utf16.file), [`audit.http.jwksFile: ${path.join(utf16.dir, 'jwks.json')} is UTF-16 text (as Windows PowerShell's Out-File writes it): save it as UTF-8`]);
  });

  it('refuses a template that takes a nested template or its parameters by link: the approval binds the text, not what the link holds when it runs', () => {
    const nested = (link: string, value: unknown) =>
      JSON.stringify({ resources: [{ type: 'Microsoft.Resources/deployments', apiVersion: '2022-09-01', name: 'inner', properties: { mode: 'Incremental', [link]: value } }] });
    const byUri = folder(MINIMAL, { 'templates/app.json': nested('templateLink', { uri: 'https://example.blob.core.windows.net/t/inner.json' }) });
    assert.deepEqual(problemsLoading(byUri.file).map((p) => p.split(': ARM fetches')[0]), [
      'commands[1].operation.template: template file templates/app.json takes part of what it deploys by reference (resources[0].properties.templateLink)',
    ]);
    // A template spec by id, a parameters file by link, a member in other letters (ARM reads any case): each refused.
    for (const [link, value] of [['templateLink', { id: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Resources/templateSpecs/t/versions/1' }], ['parametersLink', { uri: 'https://example.com/p.json' }], ['TemplateLink', { uri: "[parameters('where')]" }]] as const) {
      const f = folder(MINIMAL, { 'templates/app.json': nested(link, value) });
      assert.match(problemsLoading(f.file).join('\n'), new RegExp(`by reference \\(resources\\[0\\]\\.properties\\.${link}\\)`), link);
    }
    // A link built by a template expression (createObject, json) rather than written as a member: refused too.
    const built = JSON.stringify({ resources: [{ type: 'Microsoft.Resources/deployments', apiVersion: '2022-09-01', name: 'inner', properties: "[createObject('mode', 'Incremental', 'templateLink', createObject('uri', parameters('where')))]" }] });
    assert.match(problemsLoading(folder(MINIMAL, { 'templates/app.json': built }).file).join('\n'), /by reference \(resources\[0\]\.properties, an expression naming templateLink\)/);
    // Text that only mentions it (a description, a literal string escaped with "[[") is not a link.
    const said = JSON.stringify({ metadata: { description: 'Uses no templateLink.' }, variables: { text: "[[templateLink]" }, resources: [] });
    assert.deepEqual(loadConfig(folder(MINIMAL, { 'templates/app.json': said }).file).templates.map((t) => t.path), ['templates/app.json']);
    // The same nested deployment with its template by value loads.
    const byValue = folder(MINIMAL, { 'templates/app.json': nested('template', { resources: [] }) });
    assert.deepEqual(loadConfig(byValue.file).templates.map((t) => t.path), ['templates/app.json']);
  });

  it('refuses a template that has Azure fetch a script, files or a package from an address when it runs, naming the resource and the property', () => {
    const refusal = (template: unknown) => {
      const problems = problemsLoading(folder(MINIMAL, { 'templates/app.json': JSON.stringify(template) }).file);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], /: it is fetched when the deployment runs, so what runs is whatever the address holds then, which its approvers never saw and whoever can change it can change after approval; /);
      return problems[0].split(': it is fetched')[0];
    };
    const one = (type: string, name: string, properties: unknown) => ({ resources: [{ type, apiVersion: '2023-03-01', name, properties }] });
    const uri = 'https://example.blob.core.windows.net/s/setup.sh';
    const byAddress: [unknown, string][] = [
      [one('Microsoft.Resources/deploymentScripts', 'setup', { azCliVersion: '2.52.0', primaryScriptUri: uri }), `a deployment script's script from an address (Microsoft.Resources/deploymentScripts "setup" at resources[0]: properties.primaryScriptUri)`],
      [one('Microsoft.Resources/deploymentScripts', 'setup', { scriptContent: 'echo', supportingScriptUris: [uri] }), `a deployment script's supporting files from an address (Microsoft.Resources/deploymentScripts "setup" at resources[0]: properties.supportingScriptUris)`],
      [one('Microsoft.Compute/virtualMachines/extensions', 'vm1/setup', { publisher: 'Microsoft.Azure.Extensions', type: 'CustomScript', settings: { fileUris: [uri] } }), `an extension's files (CustomScript) from an address (Microsoft.Compute/virtualMachines/extensions "vm1/setup" at resources[0]: properties.settings.fileUris)`],
      [one('Microsoft.Compute/virtualMachineScaleSets/extensions', 'ss/setup', { protectedSettings: { FILEURIS: [uri] } }), `an extension's files (CustomScript) from an address (Microsoft.Compute/virtualMachineScaleSets/extensions "ss/setup" at resources[0]: properties.protectedSettings.FILEURIS)`],
      [one('Microsoft.Compute/virtualMachines/extensions', 'vm1/dsc', { publisher: 'Microsoft.Powershell', type: 'DSC', settings: { configuration: { url: uri, script: 'a.ps1', function: 'Main' } } }), `a DSC extension's configuration from an address (Microsoft.Compute/virtualMachines/extensions "vm1/dsc" at resources[0]: properties.settings.configuration.url)`],
      [one('Microsoft.Compute/virtualMachines/extensions', 'vm1/dsc', { settings: { configurationData: { url: uri } } }), `a DSC extension's configuration data from an address (Microsoft.Compute/virtualMachines/extensions "vm1/dsc" at resources[0]: properties.settings.configurationData.url)`],
      [one('Microsoft.Compute/virtualMachines/extensions', 'vm1/dsc', { settings: { ModulesUrl: uri } }), `a DSC extension's modules from an address (Microsoft.Compute/virtualMachines/extensions "vm1/dsc" at resources[0]: properties.settings.ModulesUrl)`],
      [one('Microsoft.Compute/virtualMachines/runCommands', 'vm1/rc', { source: { scriptUri: uri } }), `a run command's script from an address (Microsoft.Compute/virtualMachines/runCommands "vm1/rc" at resources[0]: properties.source.scriptUri)`],
      [one('Microsoft.Web/sites/extensions', 'site/MSDeploy', { packageUri: uri }), `an App Service package (MSDeploy, ZipDeploy or OneDeploy) from an address (Microsoft.Web/sites/extensions "site/MSDeploy" at resources[0]: properties.packageUri)`],
      [one('Microsoft.Web/sites/extensions', 'site/MSDeploy', { setParametersXmlFileUri: uri }), `MSDeploy's parameters file from an address (Microsoft.Web/sites/extensions "site/MSDeploy" at resources[0]: properties.setParametersXmlFileUri)`],
      [one('Microsoft.Automation/automationAccounts/runbooks', 'aa/rb', { runbookType: 'PowerShell', publishContentLink: { uri } }), `an Automation runbook's content from an address (Microsoft.Automation/automationAccounts/runbooks "aa/rb" at resources[0]: properties.publishContentLink)`],
      // Nested: a child resource (its type and name joined to its parent's), a scale set's extensionProfile, a nested deployment's template, resources by symbolic name.
      [{ resources: [{ type: 'Microsoft.Compute/virtualMachines', name: 'vm1', properties: {}, resources: [{ type: 'extensions', name: 'setup', properties: { settings: { fileUris: [uri] } } }] }] }, `an extension's files (CustomScript) from an address (Microsoft.Compute/virtualMachines/extensions "vm1/setup" at resources[0].resources[0]: properties.settings.fileUris)`],
      [one('Microsoft.Compute/virtualMachineScaleSets', 'ss', { virtualMachineProfile: { extensionProfile: { extensions: [{ name: 'setup', properties: { settings: { fileUris: [uri] } } }] } } }), `an extension's files (CustomScript) from an address (Microsoft.Compute/virtualMachineScaleSets "ss" at resources[0]: properties.virtualMachineProfile.extensionProfile.extensions[0].properties.settings.fileUris)`],
      [one('Microsoft.Resources/deployments', 'inner', { mode: 'Incremental', template: one('Microsoft.Resources/deploymentScripts', 'setup', { primaryScriptUri: uri }) }), `a deployment script's script from an address (Microsoft.Resources/deploymentScripts "setup" at resources[0].properties.template.resources[0]: properties.primaryScriptUri)`],
      [{ languageVersion: '2.0', resources: { web: { type: 'Microsoft.Web/sites/extensions', name: 'site/ZipDeploy', properties: { packageUri: "[parameters('package')]" } } } }, `an App Service package (MSDeploy, ZipDeploy or OneDeploy) from an address (Microsoft.Web/sites/extensions "site/ZipDeploy" at resources.web: properties.packageUri)`],
      // Built by an expression (createObject, json), or held by a variable a resource takes whole.
      [one('Microsoft.Resources/deploymentScripts', 'setup', "[createObject('azCliVersion', '2.52.0', 'primaryScriptUri', parameters('where'))]"), `a deployment script's script from an address (Microsoft.Resources/deploymentScripts "setup" at resources[0]: properties, an expression naming primaryScriptUri)`],
      [one('Microsoft.Compute/virtualMachines/extensions', 'vm1/dsc', { settings: '[json(\'{"configuration": {"url": "https://example.com/c.zip"}}\')]' }), `a DSC extension's configuration from an address (Microsoft.Compute/virtualMachines/extensions "vm1/dsc" at resources[0]: properties.settings, an expression naming configuration and url)`],
      [{ variables: { settings: { fileUris: [uri] } }, ...one('Microsoft.Compute/virtualMachines/extensions', 'vm1/setup', { settings: "[variables('settings')]" }) }, `an extension's files (CustomScript) from an address (variables.settings.fileUris)`],
    ];
    for (const [template, said] of byAddress) assert.equal(refusal(template), `commands[1].operation.template: template file templates/app.json has Azure fetch ${said}`);
    // What to do instead is said: the script inline, where ARM takes it so.
    assert.match(problemsLoading(folder(MINIMAL, { 'templates/app.json': JSON.stringify(byAddress[0][0]) }).file)[0], /; put the script in the template \("scriptContent"\)$/);
    // The same resources with their content inline load; so do an empty list of files, a parameter named like such a property, and a command that fetches something itself.
    const inline = {
      parameters: { fileUris: { type: 'array', defaultValue: [] } },
      resources: [
        one('Microsoft.Resources/deploymentScripts', 'setup', { azCliVersion: '2.52.0', scriptContent: 'az group list', supportingScriptUris: [] }).resources[0],
        one('Microsoft.Compute/virtualMachines/extensions', 'vm1/setup', { settings: { fileUris: [], commandToExecute: `curl -fsS ${uri} | sh` } }).resources[0],
        one('Microsoft.Compute/virtualMachines/runCommands', 'vm1/rc', { source: { script: "[format('echo {0}', length(parameters('fileUris')))]" } }).resources[0],
      ],
    };
    assert.deepEqual(loadConfig(folder(MINIMAL, { 'templates/app.json': JSON.stringify(inline) }).file).templates.map((t) => t.path), ['templates/app.json']);
  });

  it('refuses a value the config gives a template parameter that has Azure fetch content from an address, or links it: a template taking the object whole deploys it', () => {
    const takesWhole = JSON.stringify({ parameters: { settings: { type: 'object' } }, resources: [{ type: 'Microsoft.Compute/virtualMachines/extensions', apiVersion: '2023-03-01', name: 'vm1/setup', properties: { settings: "[parameters('settings')]" } }] });
    const giving = (value: string) => MINIMAL.replace('      template: templates/app.json\n', `      template: templates/app.json\n      parameters:\n        settings: ${value}\n`);
    const files = folder(giving('{ fileUris: ["https://example.com/setup.sh"], commandToExecute: "sh setup.sh" }'), { 'templates/app.json': takesWhole });
    assert.deepEqual(problemsLoading(files.file).map((p) => p.split(': it is fetched')[0]), [
      "commands[1].operation.parameters.settings: the value given to the template's parameter settings has Azure fetch an extension's files (CustomScript) from an address (settings.fileUris)",
    ]);
    const linked = folder(giving('{ nested: { templateLink: { uri: "https://example.com/t.json" } } }'), { 'templates/app.json': takesWhole });
    assert.match(problemsLoading(linked.file).join('\n'), /parameters\.settings: the value given to the template's parameter settings takes part of what it deploys by reference \(settings\.nested\.templateLink\)/);
    // The same settings with the command inline load.
    assert.deepEqual(loadConfig(folder(giving('{ commandToExecute: "echo ready" }'), { 'templates/app.json': takesWhole }).file).templates.map((t) => t.path), ['templates/app.json']);
  });

  it('refuses a template larger than ARM takes, and one that is not a file, without reading it', () => {
    const big = folder(MINIMAL, { 'templates/app.json': `{"resources": [], "x": "${'a'.repeat(4 * 1024 * 1024)}"}` });
    assert.match(problemsLoading(big.file).join('\n'), /template file templates\/app\.json is 4,194,3\d\d bytes; ARM takes a template of at most 4 MB/);
    const dirInstead = folder(MINIMAL, { 'templates/app.json/x': TEMPLATE });
    assert.match(problemsLoading(dirInstead.file).join('\n'), /template file templates\/app\.json is not a file/);
  });
});
