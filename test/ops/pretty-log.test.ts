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
});
