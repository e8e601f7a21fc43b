/** One span per Bot Framework turn, the parent of the ARM calls the turn makes. */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { inSpan } from './in-span';

export interface TurnActivity {
  activity: { type?: string; name?: string; channelId?: string };
}

/** Wraps a bot's turn handler so each activity runs inside a span of its own. */
export function traceTurns<C extends TurnActivity>(run: (context: C) => Promise<void>, tracer: Tracer): (context: C) => Promise<void> {
  return (context) => {
    const { type = 'unknown', name, channelId } = context.activity;
    return inSpan(
      tracer,
      `activity ${type}${name ? ` ${name}` : ''}`,
      { kind: SpanKind.INTERNAL, attributes: { 'countersign.activity.type': type, 'countersign.activity.name': name ?? '', 'countersign.activity.channel': channelId ?? '' } },
      () => run(context),
    );
  };
}
