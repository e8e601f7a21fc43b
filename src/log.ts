/** Structured JSON logs (pino). Secrets are redacted by path wherever they could appear. */
import pino from 'pino';
import type { Logger } from './app/context';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'MicrosoftAppPassword',
  '*.MicrosoftAppPassword',
  'clientSecret',
  '*.clientSecret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger & Logger {
  return pino(
    {
      level,
      base: { service: 'countersign' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
