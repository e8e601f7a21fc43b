/**
 * What of a template Azure would take from elsewhere when the deployment runs: a nested template or
 * parameters file by link, a script, files or a package by address. Approvers approve a template's
 * text; content fetched at run time is whatever the address holds then, so such a template is refused
 * when the config loads (docs/configuration.md#files-beside-the-config).
 */

/**
 * Members by which ARM takes a nested deployment's template or parameters from elsewhere when it runs
 * (a URI, a template spec's id, a path relative to a linked parent). ARM reads member names in any
 * letter case, so they are matched so too.
 */
const LINKED_CONTENT = /^(templateLink|parametersLink)$/i;

/**
 * A template expression ("[…]", not "[[…", a literal) that names such a member: createObject('templateLink', …)
 * or json('{"templateLink": …}') builds the link when the deployment runs, where no member shows it.
 */
const LINK_IN_EXPRESSION = /templateLink|parametersLink/i;

/**
 * A property a resource provider fetches from an address when the deployment runs: the member names
 * that end its path (in any letter case), what it fetches, and what to write instead.
 */
interface FetchedProperty {
  members: string[];
  /** What an expression that builds it names (see `fetched`). */
  keys: string[];
  inExpression: RegExp;
  what: string;
  instead: string;
}

/**
 * A property fetched at run time, ending in `members`. An expression that names `keys` (by default its
 * last member) as keys, quoted and in this order ('fileUris' in createObject, "fileUris" in
 * json('{…}')), may build it where no member shows it; the name of a parameter or variable
 * (parameters('fileUris')) is not such a key.
 */
function fetched(members: string[], what: string, instead: string, keys = members.slice(-1)): FetchedProperty {
  const quoted = keys.map((k, i) => `(?<!\\b(?:parameters|variables)\\(\\s*)(['"])${k}\\${i + 1}`);
  return { members, keys, inExpression: new RegExp(quoted.join('[\\s\\S]*'), 'i'), what, instead };
}

const NO_FORM_BY_VALUE = 'ARM takes it by address only: do this step outside the template';

const FETCHED: FetchedProperty[] = [
  // Microsoft.Resources/deploymentScripts
  fetched(['primaryScriptUri'], "a deployment script's script", 'put the script in the template ("scriptContent")'),
  fetched(['supportingScriptUris'], "a deployment script's supporting files", 'put what the script needs in "scriptContent"'),
  // Extensions of VMs, scale sets (also in a scale set's extensionProfile) and Arc machines: CustomScript's files, DSC's configuration and modules.
  fetched(['fileUris'], "an extension's files (CustomScript)", 'put the command in the extension\'s "commandToExecute" (or the Linux CustomScript extension\'s "script")'),
  fetched(['settings', 'configuration', 'url'], "a DSC extension's configuration", NO_FORM_BY_VALUE, ['configuration', 'url']),
  fetched(['settings', 'configurationData', 'url'], "a DSC extension's configuration data", NO_FORM_BY_VALUE, ['configurationData', 'url']),
  fetched(['settings', 'modulesUrl'], "a DSC extension's modules", NO_FORM_BY_VALUE),
  // Run commands of VMs, scale sets' VMs and Arc machines.
  fetched(['source', 'scriptUri'], "a run command's script", 'put the script in the template ("source.script")'),
  // Microsoft.Web/sites/extensions and sites/slots/extensions: MSDeploy, ZipDeploy, OneDeploy.
  fetched(['packageUri'], 'an App Service package (MSDeploy, ZipDeploy or OneDeploy)', NO_FORM_BY_VALUE),
  fetched(['setParametersXmlFileUri'], "MSDeploy's parameters file", 'give them in "setParameters"'),
  // Microsoft.Automation/automationAccounts/runbooks.
  fetched(['publishContentLink'], "an Automation runbook's content", NO_FORM_BY_VALUE),
];

/** A resource the walk is in: its type and name in full (a child's joined to its parent's), and where it is. */
interface Resource {
  type: string;
  name: string;
  at: string;
}

type Finding =
  | { kind: 'link'; at: string }
  | { kind: 'fetched'; at: string; property: FetchedProperty; resource?: Resource; named?: string };

/**
 * Why a template (its path relative to the config folder, `relativePath`) may not be deployed as
 * approved: the first part of it Azure would fetch from elsewhere when it runs; undefined when none.
 */
export function fetchedWhenRun(template: unknown, relativePath: string): string | undefined {
  const found = findIn(template, '', [], undefined, false);
  return found && refusal(`template file ${relativePath}`, found);
}

/**
 * The same of a value the config gives a template's parameter (`name`): a template that takes an
 * object parameter whole ("settings": "[parameters('settings')]") deploys what is in it.
 */
export function fetchedInParameter(name: string, value: unknown): string | undefined {
  const found = findIn({ [name]: value }, '', ['parameters'], undefined, false);
  return found && refusal(`the value given to the template's parameter ${name}`, found);
}

function refusal(subject: string, found: Finding): string {
  if (found.kind === 'link') {
    return `${subject} takes part of what it deploys by reference (${found.at}): ARM fetches a linked template or parameters file when the deployment runs, so what runs is whatever the link holds then, which its approvers never saw and whoever can change it can change after approval; put the nested template in by value ("template": {…}) and its parameters as "parameters"`;
  }
  const { resource, property } = found;
  const within = resource ? `${resource.type} ${JSON.stringify(resource.name)} at ${resource.at}: ${found.at.slice(resource.at.length + 1)}` : found.at;
  const where = found.named ? `${within}, an expression naming ${found.named}` : within;
  return `${subject} has Azure fetch ${property.what} from an address (${where}): it is fetched when the deployment runs, so what runs is whatever the address holds then, which its approvers never saw and whoever can change it can change after approval; ${property.instead}`;
}

/** An empty list or text, or null, names no address: nothing is fetched. */
function namesAnAddress(value: unknown): boolean {
  return value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);
}

/** The member names of `path` end with those of `members`, in any letter case. */
function endsWith(path: string[], members: string[]): boolean {
  if (path.length < members.length) return false;
  const tail = path.slice(path.length - members.length);
  return tail.every((m, i) => m.toLowerCase() === members[i].toLowerCase());
}

/**
 * The first part of `value` (at `at`, under member names `path`, in `resource`; `isResource` when
 * `value` is that resource itself) that Azure would fetch when it runs.
 */
function findIn(value: unknown, at: string, path: string[], resource: Resource | undefined, isResource: boolean): Finding | undefined {
  if (typeof value === 'string') {
    if (!/^\s*\[(?!\[)[\s\S]*\]\s*$/.test(value)) return undefined;
    const link = LINK_IN_EXPRESSION.exec(value);
    if (link) return { kind: 'link', at: `${at}, an expression naming ${link[0]}` };
    const property = FETCHED.find((p) => p.inExpression.test(value));
    return property ? { kind: 'fetched', at, property, resource, named: property.keys.join(' and ') } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findIn(v, `${at}[${i}]`, path, resource, false);
      if (found) return found;
    }
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const here = at ? `${at}.${k}` : k;
    if (LINKED_CONTENT.test(k)) return { kind: 'link', at: here };
    const memberPath = [...path, k];
    // A parameter's, variable's or output's name is no property: a parameter named fileUris is fetched only where it is used.
    const aName = path.length > 0 && /^(parameters|variables|outputs)$/i.test(path[path.length - 1]);
    const property = aName ? undefined : FETCHED.find((p) => endsWith(memberPath, p.members));
    if (property && namesAnAddress(v)) return { kind: 'fetched', at: here, property, resource };
    const found = /^resources$/i.test(k) ? findInResources(v, here, memberPath, isResource ? resource : undefined) : findIn(v, here, memberPath, resource, false);
    if (found) return found;
  }
  return undefined;
}

/**
 * A `resources` member's resources (a list, or an object by symbolic name): a child resource's
 * short type and name ("extensions", "setup") are its `parent`'s joined with its own.
 */
function findInResources(value: unknown, at: string, path: string[], parent: Resource | undefined): Finding | undefined {
  if (!value || typeof value !== 'object') return findIn(value, at, path, parent, false);
  const entries = Array.isArray(value) ? value.map((v, i) => [`${at}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [`${at}.${k}`, v] as const);
  for (const [where, r] of entries) {
    const own = resourceOf(r, where, parent);
    const found = own ? findIn(r, where, path, own, true) : findIn(r, where, path, parent, false);
    if (found) return found;
  }
  return undefined;
}

function resourceOf(value: unknown, at: string, parent: Resource | undefined): Resource | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { type, name } = value as { type?: unknown; name?: unknown };
  if (typeof type !== 'string') return undefined;
  const own = typeof name === 'string' ? name : '(no name)';
  return parent && !type.includes('/') ? { type: `${parent.type}/${type}`, name: `${parent.name}/${own}`, at } : { type, name: own, at };
}
