/**
 * "This machine's loopback", decided once (src/loopback.ts) and asked by every rule "only on this
 * machine": COUNTERSIGN_HOST without an app id, plain http for BotOpenIdMetadata and for the Graph
 * endpoint (here), and the Host an unauthenticated activity must name (test/teams/auth.test.ts).
 * Three copies once answered differently: http://127.0.0.2 was refused for BotOpenIdMetadata while
 * COUNTERSIGN_HOST=127.0.0.2 was loopback, and COUNTERSIGN_HOST=LOCALHOST was not.
 */
import assert from 'node:assert/strict';
import { checkListenAddress } from '../../src/composition-root';
import { endpointProblem } from '../../src/config/directory';
import { isLoopbackHost, LOOPBACK_TEXT } from '../../src/loopback';
import { readSettings } from '../../src/settings';

describe("this machine's loopback, one definition", () => {
  it('is localhost in any case, 127.0.0.0/8 in four numbers from 0 to 255, and ::1 bare or bracketed', () => {
    for (const host of ['localhost', 'LOCALHOST', 'LocalHost', '127.0.0.1', '127.0.0.2', '127.255.255.255', '127.0.10.200', '::1', '[::1]']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  it('is nothing else: no other address or name, no number past 255, no leading zero, no port, no IPv4-mapped form', () => {
    for (const host of [
      '',
      '127.999.1.1',
      '127.256.0.1',
      '127.0.0.1.evil.com',
      'localhost.evil.com',
      'evil-localhost',
      '127.0.0',
      '127.0.0.1.',
      '0127.0.0.1',
      '127.00.0.1',
      '128.0.0.1',
      '10.0.0.1',
      '0.0.0.0',
      '::',
      '[::1',
      '::2',
      '127.0.0.1:3978',
      ' 127.0.0.1',
      '::ffff:127.0.0.1',
      '[::ffff:7f00:1]',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe('every "only on this machine" check asks that definition', () => {
  /** A host as a listen address, and as it is written in a URL. */
  const cases: [host: string, inUrl: string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['127.0.0.2', '127.0.0.2'],
    ['localhost', 'localhost'],
    ['LOCALHOST', 'LOCALHOST'],
    ['::1', '[::1]'],
    ['127.999.1.1', '127.999.1.1'],
    ['127.0.0.1.evil.com', '127.0.0.1.evil.com'],
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['::ffff:127.0.0.1', '[::ffff:127.0.0.1]'],
  ];

  const listens = (host: string) => {
    try {
      checkListenAddress(readSettings({ COUNTERSIGN_HOST: host }));
      return true;
    } catch {
      return false;
    }
  };
  const openIdOverHttp = (inUrl: string) => {
    try {
      readSettings({ BotOpenIdMetadata: `http://${inUrl}:4000/v1/.well-known/openidconfiguration` });
      return true;
    } catch {
      return false;
    }
  };
  const graphOverHttp = (inUrl: string) => endpointProblem(`http://${inUrl}:4000`, true) === undefined;

  it('COUNTERSIGN_HOST without an app id, BotOpenIdMetadata over http and the Graph endpoint over http give the same answer for each host', () => {
    for (const [host, inUrl] of cases) {
      const loopback = isLoopbackHost(host);
      assert.deepEqual({ listens: listens(host), openId: openIdOverHttp(inUrl), graph: graphOverHttp(inUrl) }, { listens: loopback, openId: loopback, graph: loopback }, host);
    }
  });

  it('takes BotOpenIdMetadata over http on 127.0.0.2, as COUNTERSIGN_HOST=127.0.0.2 is taken, and LOCALHOST in both', () => {
    assert.equal(readSettings({ BotOpenIdMetadata: 'http://127.0.0.2:4000/openid' }).microsoftApp.openIdMetadataUrl, 'http://127.0.0.2:4000/openid');
    assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: '127.0.0.2' })));
    assert.doesNotThrow(() => readSettings({ BotOpenIdMetadata: 'http://LOCALHOST:4000/openid' }));
    assert.doesNotThrow(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: 'LOCALHOST' })));
  });

  it('names loopback the same way in each refusal', () => {
    assert.equal(LOOPBACK_TEXT, "this machine's loopback (localhost, 127.0.0.0/8 or ::1)");
    assert.throws(() => readSettings({ BotOpenIdMetadata: 'http://10.0.0.1/openid' }), (err: Error) => err.message.includes(`(http only on ${LOOPBACK_TEXT})`));
    assert.throws(() => checkListenAddress(readSettings({ COUNTERSIGN_HOST: '10.0.0.1' })), (err: Error) => err.message.includes(`or listen on ${LOOPBACK_TEXT}, such as 127.0.0.1.`));
    assert.equal(endpointProblem('http://10.0.0.1', true), `must be https (plain http is accepted only on ${LOOPBACK_TEXT}, for a local fake of Microsoft Graph)`);
  });
});
