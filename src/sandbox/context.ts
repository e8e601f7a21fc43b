/**
 * What every handler gets: the state, the faults, the timing, and a way to schedule work that stops
 * when the sandbox closes. A route declares the RBAC action it needs so that denials are checked in
 * one place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SandboxFaults } from './faults';
import type { SandboxRequest, SandboxResponse } from './http';
import type { SandboxState } from './state';

export interface SandboxTiming {
  /** How long each deployment operation (one per template resource) takes, in ms. */
  deploymentStepMs: number;
  /** How long other asynchronous operations take (group and resource deletes, VM actions, what-if), in ms. */
  operationMs: number;
  /** Retry-After seconds on accepted operations and on polls of running ones; 0 leaves the pace to the client. */
  retryAfterSeconds: number;
}

export const DEFAULT_TIMING: SandboxTiming = { deploymentStepMs: 400, operationMs: 600, retryAfterSeconds: 1 };

export interface SandboxContext {
  readonly state: SandboxState;
  readonly faults: SandboxFaults;
  readonly timing: SandboxTiming;
  /** Object id reported in AuthorizationFailed messages. */
  readonly principalId: string;
  /** Items per page of list answers; more come through nextLink. */
  readonly pageSize: number;
  /** Waits, but gives up (rejects) when the sandbox closes. */
  sleep(ms: number): Promise<void>;
  /** Runs `work` after `ms` unless the sandbox closed in between. */
  later(ms: number, work: () => void | Promise<void>): void;
}

export interface Authorization {
  action: string;
  scope: string;
}

export interface Route {
  methods: string[];
  pattern: RegExp;
  /** The RBAC action this request needs, checked against denied actions before the handler runs. */
  authorize(req: SandboxRequest, m: RegExpExecArray): Authorization | undefined;
  handle(req: SandboxRequest, m: RegExpExecArray, ctx: SandboxContext): SandboxResponse | Promise<SandboxResponse>;
}

/**
 * Sleeping and deferred work tied to the current generation of the sandbox: reset() and close() abort
 * the generation, so that nothing started before (a deployment still running) touches what comes after.
 */
export function scheduler(current: () => AbortSignal): Pick<SandboxContext, 'sleep' | 'later'> {
  return {
    sleep: (ms) => sleep(ms, undefined, { signal: current() }),
    later: (ms, work) => {
      const signal = current();
      sleep(ms, undefined, { signal })
        .then(work)
        .catch((e: unknown) => {
          // An aborted generation stops its pending work; anything else is a sandbox bug worth seeing.
          if (!signal.aborted) console.error('ARM sandbox: background work failed', e);
        });
    },
  };
}
