import assert from 'node:assert/strict';
import { routeConsoleToLog } from '../../src/log/console';

describe('console routed into the log', () => {
  it('turns a library console.error with a stack into one structured line, and puts the console back', () => {
    const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
    const log = {
      info: (obj: object, msg?: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: object, msg?: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    };
    const target = { error: (..._: unknown[]) => assert.fail('not routed'), warn: (..._: unknown[]) => assert.fail('not routed') };
    const original = target.error;
    const restore = routeConsoleToLog(log, target);
    const err = new Error('jwt expired');
    err.name = 'TokenExpiredError';
    target.error(err);
    target.warn('BadRequest: Missing activity or activity type.\nsecond line');
    assert.deepEqual(lines, [
      { level: 'error', obj: { source: 'console', text: 'TokenExpiredError: jwt expired' }, msg: 'library error' },
      { level: 'warn', obj: { source: 'console', text: 'BadRequest: Missing activity or activity type.' }, msg: 'library warning' },
    ]);
    restore();
    assert.equal(target.error, original);
  });
});
