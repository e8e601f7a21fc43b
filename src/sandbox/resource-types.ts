/**
 * How each emulated resource type behaves: which properties the provider computes (kept across PUTs and
 * ignored by what-if), which POST actions it accepts and whether deletes and actions finish asynchronously.
 * Types not listed get the generic behaviour: provisioningState only, no actions, asynchronous delete.
 */
import { randomUUID } from 'node:crypto';

export interface TypedResource {
  name: string;
  location: string;
  properties: Record<string, unknown>;
}

export interface ResourceTypeBehavior {
  /** Properties the provider sets on creation. */
  computed(resource: TypedResource): Record<string, unknown>;
  /** Top-level keys of `properties` the caller cannot set (what-if ignores them, PUT keeps them). */
  readOnly: string[];
  /** Lower-case action name → effect on the resource once the action completes. */
  actions: Record<string, (resource: TypedResource) => void>;
  /** True when DELETE and POST actions answer 202 and complete later (Microsoft.Compute), false for 200 (Microsoft.Web). */
  asynchronous: boolean;
  /** True when a PATCH answers 202 and applies later, the resource Updating meanwhile (scale sets). */
  asynchronousUpdate?: boolean;
}

function powerState(code: 'running' | 'stopped' | 'deallocated') {
  const display = { running: 'VM running', stopped: 'VM stopped', deallocated: 'VM deallocated' }[code];
  return (r: TypedResource) => {
    r.properties.extended = { instanceView: { powerState: { code: `PowerState/${code}`, level: 'Info', displayStatus: display } } };
  };
}

function siteState(state: 'Running' | 'Stopped') {
  return (r: TypedResource) => {
    r.properties.state = state;
  };
}

const GENERIC: ResourceTypeBehavior = {
  computed: () => ({ provisioningState: 'Succeeded' }),
  readOnly: ['provisioningState'],
  actions: {},
  asynchronous: true,
};

const BEHAVIORS: Record<string, ResourceTypeBehavior> = {
  'microsoft.web/sites': {
    computed: (r) => ({ provisioningState: 'Succeeded', state: 'Running', defaultHostName: `${r.name}.azurewebsites.net` }),
    readOnly: ['provisioningState', 'state', 'defaultHostName'],
    actions: { restart: siteState('Running'), start: siteState('Running'), stop: siteState('Stopped') },
    asynchronous: false,
  },
  'microsoft.web/serverfarms': {
    computed: () => ({ provisioningState: 'Succeeded', status: 'Ready' }),
    readOnly: ['provisioningState', 'status'],
    actions: {},
    asynchronous: false,
  },
  'microsoft.compute/virtualmachines': {
    computed: (r) => {
      const view: TypedResource = { ...r, properties: {} };
      powerState('running')(view);
      return { provisioningState: 'Succeeded', vmId: randomUUID(), ...view.properties };
    },
    readOnly: ['provisioningState', 'vmId', 'extended'],
    actions: {
      start: powerState('running'),
      restart: powerState('running'),
      poweroff: powerState('stopped'),
      deallocate: powerState('deallocated'),
    },
    asynchronous: true,
  },
  'microsoft.compute/virtualmachinescalesets': {
    computed: () => ({ provisioningState: 'Succeeded', uniqueId: randomUUID() }),
    readOnly: ['provisioningState', 'uniqueId'],
    actions: { start: () => undefined, restart: () => undefined, poweroff: () => undefined, deallocate: () => undefined },
    asynchronous: true,
    asynchronousUpdate: true,
  },
};

export function behaviorOf(type: string): ResourceTypeBehavior {
  return BEHAVIORS[type.toLowerCase()] ?? GENERIC;
}

/** `properties` without the provider-computed keys: what a template can set and what-if compares. */
export function writableProperties(type: string, properties: Record<string, unknown>): Record<string, unknown> {
  const readOnly = new Set(behaviorOf(type).readOnly.map((k) => k.toLowerCase()));
  return Object.fromEntries(Object.entries(properties).filter(([k]) => !readOnly.has(k.toLowerCase())));
}

/** The provider-computed keys of `properties`, to carry over when a PUT replaces the resource. */
export function computedProperties(type: string, properties: Record<string, unknown>): Record<string, unknown> {
  const readOnly = new Set(behaviorOf(type).readOnly.map((k) => k.toLowerCase()));
  return Object.fromEntries(Object.entries(properties).filter(([k]) => readOnly.has(k.toLowerCase())));
}
