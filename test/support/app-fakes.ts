/**
 * The small outside-world stand-ins the use cases take besides a store and Azure: a clock the test
 * moves, request ids in sequence, a notifier that records what people would have been shown, and a
 * logger that keeps its lines.
 */
import type { CardMessage, Clock, IdGenerator, RequestNotifier, Told } from '../../src/app/ports';
import type { ApprovalRequest } from '../../src/domain/request';
import type { Logger } from '../../src/log/context';

/**
 * A clock tests can move forward. Stopped by default (time passes only by `advance`); with
 * `realTime` it follows the real clock from `start` on, plus whatever was advanced.
 */
export class TestClock implements Clock {
  private offsetMs = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly start = new Date(),
    private readonly options: { realTime?: boolean } = {},
  ) {}

  now(): Date {
    const running = this.options.realTime ? Date.now() - this.startedAt : 0;
    return new Date(this.start.getTime() + running + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Request ids CS-00000001, CS-00000002, ... */
export function sequentialRequestIds(prefix = 'CS-'): IdGenerator & { issued: string[] } {
  const issued: string[] = [];
  return {
    issued,
    requestId() {
      const id = `${prefix}${String(issued.length + 1).padStart(8, '0')}`;
      issued.push(id);
      return id;
    },
  };
}

export type Notification =
  | { kind: 'cardChanged'; request: ApprovalRequest }
  | { kind: 'tellRequester'; request: ApprovalRequest; text: string }
  | { kind: 'cardWithoutButtons'; request: ApprovalRequest; message: CardMessage; notice: string };

/** What Teams would have shown: every card refresh and every message to a requester, in order. */
export class RecordingNotifier implements RequestNotifier {
  readonly calls: Notification[] = [];

  async cardChanged(request: ApprovalRequest): Promise<void> {
    this.calls.push({ kind: 'cardChanged', request });
  }

  async tellRequester(request: ApprovalRequest, text: string): Promise<Told> {
    this.calls.push({ kind: 'tellRequester', request, text });
    return 'sent';
  }

  async cardWithoutButtons(request: ApprovalRequest, message: CardMessage, notice: string): Promise<boolean> {
    this.calls.push({ kind: 'cardWithoutButtons', request, message, notice });
    return true;
  }

  /** The card messages shown without their buttons, each with its request and notice, in order. */
  withoutButtons(): { requestId: string; activityId: string; notice: string }[] {
    return this.calls.flatMap((c) => (c.kind === 'cardWithoutButtons' ? [{ requestId: c.request.id, activityId: c.message.activityId, notice: c.notice }] : []));
  }

  /** The state and version of each card refresh of the request, in order (e.g. "approved@2"). */
  cardRefreshes(requestId: string): string[] {
    return this.calls.filter((c) => c.kind === 'cardChanged' && c.request.id === requestId).map((c) => `${c.request.state}@${c.request.version}`);
  }

  /** What the requester of the request was told, in order. */
  told(requestId: string): string[] {
    return this.calls.flatMap((c) => (c.kind === 'tellRequester' && c.request.id === requestId ? [c.text] : []));
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg?: string;
  [key: string]: unknown;
}

/** A logger that keeps its lines (an unexpected `execution crashed` shows up in them). */
export class RecordingLog implements Logger {
  readonly lines: LogLine[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', ...obj, ...(msg ? { msg } : {}) });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', ...obj, ...(msg ? { msg } : {}) });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', ...obj, ...(msg ? { msg } : {}) });
  }
}
