/** One span per Bot Framework turn, the parent of the ARM calls the turn makes. */
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';

export interface TurnActivity {
  activity: { type?: string; name?: string; channelId?: string };
}

/** Wraps a bot's turn handler so each activity runs inside a span of its own. */
export function traceTurns<C extends TurnActivity>(run: (context: C) => Promise<void>, tracer: Tracer): (context: C) => Promise<void> {
  return (context) => {
    const { type = 'unknown', name, channelId } = context.activity;
    return tracer.startActiveSpan(
      `activity ${type}${name ? ` ${name}` : ''}`,
      { kind: SpanKind.INTERNAL, attributes: { 'countersign.activity.type': type, 'countersign.activity.name': name ?? '', 'countersign.activity.channel': channelId ?? '' } },
      async (span) => {
        try {
          await run(context);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String((err as Error)?.message ?? err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
}
