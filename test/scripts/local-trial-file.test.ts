/** The local trial's own settings, read as the bot's are: empty is not set, a wrong value is named. */
import assert from 'node:assert/strict';
import { DEFAULT_PLAYGROUND_PORT, playgroundBrowserSetting, playgroundPortSetting } from '../../scripts/local-trial-file';

describe("the local trial's settings", () => {
  it('takes PLAYGROUND_PORT as a port from 1 to 65535, empty as not set, and names it with the value otherwise', () => {
    assert.equal(playgroundPortSetting({}), DEFAULT_PLAYGROUND_PORT);
    assert.equal(playgroundPortSetting({ PLAYGROUND_PORT: '' }), DEFAULT_PLAYGROUND_PORT);
    assert.equal(playgroundPortSetting({ PLAYGROUND_PORT: '56160' }), 56160);
    for (const wrong of ['abc', '70000', '0', '-1', '5616.5', ' 56160']) {
      assert.throws(() => playgroundPortSetting({ PLAYGROUND_PORT: wrong }), { message: `PLAYGROUND_PORT: must be a port number from 1 to 65535, got "${wrong}"` });
    }
  });

  it('hands the Playground TEAMSAPPTESTER_BROWSER=none when it is empty or not set (it opens a browser for anything but "none")', () => {
    assert.equal(playgroundBrowserSetting({}), 'none');
    assert.equal(playgroundBrowserSetting({ TEAMSAPPTESTER_BROWSER: '' }), 'none');
    assert.equal(playgroundBrowserSetting({ TEAMSAPPTESTER_BROWSER: 'chrome' }), 'chrome');
  });
});
