/** Readable log lines at a terminal: the same events as the JSON lines, secrets scrubbed the same way. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger';
import { prettyDestination, prettyLine } from '../../src/log/pretty';

describe('log lines for a terminal', () => {
  it('says time, level, message and the fields in one line', () => {
    const json = JSON.stringify({ level: 30, time: '2026-03-02T09:10:11.123Z', service: 'countersign', msg: 'request created', requestId: 'CS-7K3M9QXW', command: 'deploy production' });
    assert.equal(prettyLine(json, false), '09:10:11 INFO  request created  requestId=CS-7K3M9QXW command="deploy production"\n');
  });

  it('writes through the logger with secrets scrubbed, as the JSON lines are', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger('info', prettyDestination(sink), { secrets: ['s3cret-value'] });
    log.warn({ header: 'Bearer abc.def.ghi-token', note: 'has s3cret-value inside' }, 'careful');
    assert.match(out, /^\d\d:\d\d:\d\d WARN  careful {2}header="Bearer \[redacted\]" note="has \[redacted\] inside"\n$/);
  });

  it('shows what a terminal would act on (escape sequences, other controls, bidirectional overrides) as \\u escapes, in values, keys and the message', () => {
    const hostile = '\u001b[1A\u001b[2K\u001b[1G\u001b[2K\u001b[8m';
    const json = JSON.stringify({ level: 40, time: '2026-03-02T09:10:11.123Z', msg: `card action refused\u009b2J`, requestId: hostile, [`k\u001b[8m`]: 'v', who: 'ali\u202ece', bell: 'a\u0007 b' });
    const line = prettyLine(json, false);
    assert.equal(
      line,
      '09:10:11 WARN  card action refused\\u009b2J  requestId=\\u001b[1A\\u001b[2K\\u001b[1G\\u001b[2K\\u001b[8m k\\u001b[8m=v who=ali\\u202ece bell="a\\u0007 b"\n',
    );
    assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});
