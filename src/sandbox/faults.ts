/**
 * Fault injection: the ways Azure misbehaves that Countersign must survive, switched on by tests in
 * process (sandbox.faults) or by another process through POST /_sandbox/faults/{name}.
 *
 * Request faults count down and then stop; deployment faults apply to the next matching deployment;
 * denials and grants last until clear().
 */
import type { ArmErrorBody } from './http';
import { mergePatch, type SandboxState } from './state';

/** Which requests a fault applies to; both conditions are case-insensitive. Empty matches every request. */
export interface RequestMatch {
  method?: string;
  /** A substring of the request path, e.g. "/resourcegroups/staging-old". */
  pathContains?: string;
}

export interface ThrottleFault extends RequestMatch {
  /** How many matching requests get 429 (default 1). */
  count?: number;
  /** Seconds in the Retry-After header (default 1). */
  retryAfterSeconds?: number;
  /** 503 Service Unavailable (with the same Retry-After) instead of 429: ARM or a provider briefly down. */
  unavailable?: boolean;
}

export interface AmbiguousFault extends RequestMatch {
  /** How many matching writes are applied but answered with 500 (default 1). */
  count?: number;
}

export interface StallFault extends RequestMatch {
  /** How long the answer to a matching write is held back after the write took effect, in ms (a read's, when `method` is GET). */
  ms: number;
  /** How many matching writes are stalled (default 1). */
  count?: number;
}

export interface TruncatedBodyFault extends RequestMatch {
  /** How many matching requests are carried out but answered with their JSON body cut short (default 1). */
  count?: number;
}

export interface RedirectStatusFault extends RequestMatch {
  /** The URL the answer's Azure-AsyncOperation and Location headers are changed to. */
  to: string;
  /** How many matching answers that carry one of those headers are changed (default 1). */
  count?: number;
}

export interface DeploymentFailureFault {
  /** Only a deployment with this name (default: the next deployment). */
  deploymentName?: string;
  /** Name of the template resource whose operation fails (default: the last one). */
  resourceName?: string;
  /** The provider's error for that resource (default: a BadRequest naming the resource). */
  error?: ArmErrorBody;
}

export interface SlowDeploymentFault {
  deploymentName?: string;
  /** Delay of each deployment operation, in milliseconds. */
  stepMs: number;
}

export interface ResourceDrift {
  tags?: Record<string, string | null>;
  sku?: Record<string, unknown>;
  properties?: Record<string, unknown>;
}

interface Counted<T> {
  fault: T;
  remaining: number;
}

export class SandboxFaults {
  private throttles: Counted<ThrottleFault>[] = [];
  private ambiguous: Counted<AmbiguousFault>[] = [];
  private stalls: Counted<StallFault>[] = [];
  private truncations: Counted<TruncatedBodyFault>[] = [];
  private redirects: Counted<RedirectStatusFault>[] = [];
  private failures: DeploymentFailureFault[] = [];
  private slowdowns: SlowDeploymentFault[] = [];
  private denials: { action: string; scope?: string }[] = [];
  private grants: RegExp[] | undefined;

  constructor(private readonly state: SandboxState) {}

  /** The next `count` matching requests get 429 Too Many Requests with Retry-After. */
  throttle(fault: ThrottleFault = {}): void {
    this.throttles.push({ fault, remaining: fault.count ?? 1 });
  }

  /** The next `count` matching writes take effect but are answered 500: the caller cannot know. */
  ambiguousFailure(fault: AmbiguousFault = {}): void {
    this.ambiguous.push({ fault, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching writes take effect, but their answer is held back for `ms`: a caller that
   * dies meanwhile never learns that ARM accepted them.
   */
  stall(fault: StallFault): void {
    this.stalls.push({ fault, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching requests are carried out (a write takes effect) and answered with their
   * status and headers, but with the JSON body cut off halfway: an answer the caller cannot read,
   * although ARM accepted the request (a connection dropping mid-body, a proxy mangling it).
   */
  truncatedBody(fault: TruncatedBodyFault = {}): void {
    this.truncations.push({ fault, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching answers that hand out a status URL (Azure-AsyncOperation, Location) hand
   * out `to` instead: an answer a proxy or a misbehaving provider changed, pointing the caller elsewhere.
   */
  redirectStatus(fault: RedirectStatusFault): void {
    this.redirects.push({ fault, remaining: fault.count ?? 1 });
  }

  /** The next matching deployment fails on one resource, with ARM's DeploymentFailed wrapping `error`. */
  failDeployment(fault: DeploymentFailureFault = {}): void {
    this.failures.push(fault);
  }

  /** The next matching deployment takes `stepMs` per resource. */
  slowDeployment(fault: SlowDeploymentFault): void {
    this.slowdowns.push(fault);
  }

  /** The caller lacks `action` (on `scope` and below, or everywhere): ARM answers 403 AuthorizationFailed. */
  denyAction(action: string, scope?: string): void {
    this.denials.push({ action, ...(scope ? { scope } : {}) });
  }

  /**
   * The caller's role grants only these actions (RBAC patterns: `*` matches anything, case-insensitive);
   * every other action is answered 403 AuthorizationFailed, as for a custom role.
   */
  restrictTo(actions: string[]): void {
    this.grants = actions.map((a) => new RegExp(`^${a.split('*').map(escapeRegExp).join('.*')}$`, 'i'));
  }

  /**
   * Someone changes the resource behind the caller's back (merge-patch); its etag changes. A resource
   * group id changes the group's tags.
   */
  drift(resourceId: string, change: ResourceDrift): void {
    const group = /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)$/i.exec(resourceId.replace(/\/+$/, ''));
    if (group) {
      const g = this.state.requireGroup(group[1]);
      g.tags = (mergePatch(g.tags, change.tags ?? {}) ?? {}) as Record<string, string>;
      return;
    }
    this.state.patchResource(resourceId, change as Record<string, unknown>);
  }

  clear(): void {
    this.throttles = [];
    this.ambiguous = [];
    this.stalls = [];
    this.truncations = [];
    this.redirects = [];
    this.failures = [];
    this.slowdowns = [];
    this.denials = [];
    this.grants = undefined;
  }

  // ---- used by the server -------------------------------------------------------------------------

  /** Retry-After seconds, and whether it is a 503, when this request is to be throttled. */
  takeThrottle(method: string, path: string): { retryAfterSeconds: number; unavailable: boolean } | undefined {
    const hit = take(this.throttles, method, path);
    return hit ? { retryAfterSeconds: hit.retryAfterSeconds ?? 1, unavailable: hit.unavailable ?? false } : undefined;
  }

  takeAmbiguous(method: string, path: string): boolean {
    if (method === 'GET' || method === 'HEAD') return false;
    return take(this.ambiguous, method, path) !== undefined;
  }

  /**
   * Milliseconds to hold back the answer to this write; a read's answer only when the fault names its
   * method (`method: 'GET'`): ARM that accepts a read and does not answer, as a hung proxy would.
   */
  takeStall(method: string, path: string): number | undefined {
    if (method === 'GET' || method === 'HEAD') {
      return take(this.stalls.filter((c) => c.fault.method?.toUpperCase() === method), method, path)?.ms;
    }
    return take(this.stalls, method, path)?.ms;
  }

  /** The URL this answer's status headers are to point at instead, when a redirectStatus fault matches. */
  takeRedirect(method: string, path: string): string | undefined {
    return take(this.redirects, method, path)?.to;
  }

  /** True when this answer's body (a request that has one) is to be cut short. */
  takeTruncatedBody(method: string, path: string): boolean {
    return take(this.truncations, method, path) !== undefined;
  }

  deniedAction(action: string, scope: string): boolean {
    if (this.grants && !this.grants.some((g) => g.test(action))) return true;
    return this.denials.some(
      (d) => d.action.toLowerCase() === action.toLowerCase() && (!d.scope || scope.toLowerCase().startsWith(d.scope.toLowerCase())),
    );
  }

  takeDeploymentFailure(deploymentName: string): DeploymentFailureFault | undefined {
    return takeFor(this.failures, deploymentName);
  }

  takeSlowdown(deploymentName: string): number | undefined {
    return takeFor(this.slowdowns, deploymentName)?.stepMs;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function matches(m: RequestMatch, method: string, path: string): boolean {
  if (m.method && m.method.toUpperCase() !== method) return false;
  return !m.pathContains || path.toLowerCase().includes(m.pathContains.toLowerCase());
}

function take<T extends RequestMatch>(list: Counted<T>[], method: string, path: string): T | undefined {
  const hit = list.find((c) => c.remaining > 0 && matches(c.fault, method, path));
  if (!hit) return undefined;
  hit.remaining -= 1;
  return hit.fault;
}

function takeFor<T extends { deploymentName?: string }>(list: T[], name: string): T | undefined {
  const i = list.findIndex((f) => !f.deploymentName || f.deploymentName.toLowerCase() === name.toLowerCase());
  return i < 0 ? undefined : list.splice(i, 1)[0];
}
