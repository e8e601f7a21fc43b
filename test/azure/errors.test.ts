import assert from 'node:assert/strict';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { armErrorFromResponse, flattenDetails, isIndeterminate, isPassing, isUnreadableAnswer, toArmError } from '../../src/azure/errors';

function restError(status: number, body: unknown, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  const inner = (body as { error?: { code?: string; message?: string } }).error;
  const e = new RestError(inner?.message ?? 'failed', {
    statusCode: status,
    ...(inner?.code ? { code: inner.code } : {}),
    request,
    response: { status, headers: createHttpHeaders(headers), request, bodyAsText: JSON.stringify(body) },
  });
  return e;
}

describe('ARM errors in words', () => {
  it('keeps code, message, HTTP status and flattens nested details', () => {
    const error = toArmError(
      restError(400, {
        error: {
          code: 'InvalidTemplateDeployment',
          message: 'The template deployment is not valid according to the validation procedure.',
          details: [
            { code: 'ValidationForResourceFailed', message: 'Validation failed for a resource.', details: [{ code: 'SkuNotAvailable', message: 'P1v3 is not available.' }] },
            { code: 'InvalidParameter', message: 'capacity must be at most 10', target: 'capacity' },
          ],
        },
      }),
    );
    assert.deepEqual(error, {
      code: 'InvalidTemplateDeployment',
      message: 'The template deployment is not valid according to the validation procedure.',
      details: [
        'ValidationForResourceFailed: Validation failed for a resource.',
        '  SkuNotAvailable: P1v3 is not available.',
        'InvalidParameter: capacity must be at most 10 (target: capacity)',
      ],
      httpStatus: 400,
    });
    assert.equal(isIndeterminate(error), false);
  });

  it("redacts a SAS signature or a connection string's key that ARM's words quote: the error goes on the card and into the audit log", () => {
    const sas = 'https://acct.blob.core.windows.net/templates/nested.json?sv=2022-11-02&sp=r&sig=q7V%2BdF0yX3kz9Lw1mN2bC4eR5tY6uI7oP8aS9dF0gH1%3D';
    const error = toArmError(
      restError(400, {
        error: {
          code: 'InvalidContentLink',
          message: `Unable to download deployment content from '${sas}'.`,
          details: [{ code: 'BadConnection', message: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4==;EndpointSuffix=core.windows.net is refused' }],
        },
      }),
    );
    assert.equal(error.message, "Unable to download deployment content from 'https://acct.blob.core.windows.net/templates/nested.json?sv=2022-11-02&sp=r&sig=[redacted]'.");
    assert.deepEqual(error.details, ['BadConnection: DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net is refused']);
    assert.equal(armErrorFromResponse(200, { status: 'Failed', error: { code: 'DeploymentFailed', message: `see ${sas}` } }).message, `see ${sas.replace(/sig=.*$/, 'sig=[redacted]')}`);
  });

  it('says which action on which scope is missing, for both of ARM\'s wordings', () => {
    for (const phrase of ["over scope '/subscriptions/s/resourcegroups/rg' or the scope is invalid.", "at scope '/subscriptions/s/resourcegroups/rg'."]) {
      const original = `The client 'abc' with object id 'abc' does not have authorization to perform action 'Microsoft.Web/sites/restart/action' ${phrase}`;
      const error = toArmError(restError(403, { error: { code: 'AuthorizationFailed', message: original } }));
      assert.equal(
        error.message,
        "Countersign's Azure identity is not allowed to perform 'Microsoft.Web/sites/restart/action' on '/subscriptions/s/resourcegroups/rg'. " +
          'Grant that action to the identity (for example in the Countersign custom role) and try again.',
      );
      assert.deepEqual(error.details, [original]);
    }
  });

  it('explains throttling, with the wait Azure asked for', () => {
    const error = toArmError(restError(429, { error: { code: 'TooManyRequests', message: 'Too many.' } }, { 'retry-after': '17' }));
    assert.match(error.message, /throttling .*Azure asked to wait 17 s/);
    assert.equal(error.httpStatus, 429);
  });

  it('reads the failure of a long-running operation from the poller\'s message', () => {
    const error = toArmError(new Error('The long-running operation has failed. Conflict. Another operation is in progress.'));
    assert.deepEqual(error, { code: 'Conflict', message: 'Another operation is in progress.' });
    assert.equal(isIndeterminate(error), false);
  });

  it('uses the captured answer when the SDK error lost ARM\'s message', () => {
    const lost = new RestError('Pagination failed with unexpected statusCode 404', { statusCode: 404, code: 'ResourceGroupNotFound' });
    const error = toArmError(lost, { status: 404, headers: {}, body: { error: { code: 'ResourceGroupNotFound', message: "Resource group 'x' could not be found." } } });
    assert.equal(error.message, "Resource group 'x' could not be found.");
  });

  it('tells a lost connection (unknown outcome) from a refused one (nothing sent)', () => {
    assert.equal(isIndeterminate(toArmError(new RestError('socket hang up', { code: 'ECONNRESET' }))), true);
    assert.equal(isIndeterminate(toArmError(new RestError('connect ECONNREFUSED', { code: 'ECONNREFUSED' }))), false);
    assert.equal(isIndeterminate(armErrorFromResponse(503, { error: { code: 'ServiceUnavailable', message: 'later' } })), true);
    assert.equal(isIndeterminate(armErrorFromResponse(409, { error: { code: 'Conflict', message: 'no' } })), false);
  });

  it('an answer without the body ARM sends (the SDK met an empty 200) is an answer that could not be read, not a JavaScript error', () => {
    const error = toArmError(new TypeError("Cannot read properties of undefined (reading 'id')"), { status: 200, headers: {}, body: undefined });
    assert.deepEqual(error, {
      code: 'PARSE_ERROR',
      message: 'Azure Resource Manager answered HTTP 200, but its answer could not be read (it holds no body, or not the one Azure sends): the request may have been carried out.',
      httpStatus: 200,
    });
    assert.equal(isIndeterminate(error), true);
    assert.equal(toArmError(new TypeError('x is not a function')).code, 'UnexpectedError', 'any other TypeError is ours, said as it is');
  });

  it('an answer ARM gave that could not be read is indeterminate, not a refusal; a 4xx still is one', () => {
    const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
    const cutShort = (status: number | undefined) =>
      new RestError('Error "SyntaxError: Unterminated string in JSON at position 12" occurred while parsing the response body - {"id":"/subs.', {
        code: RestError.PARSE_ERROR,
        ...(status !== undefined ? { statusCode: status, response: { status, headers: createHttpHeaders(), request, bodyAsText: '{"id":"/subs' } } : {}),
        request,
      });
    for (const status of [200, 201, 202]) {
      const error = toArmError(cutShort(status), { status, headers: {}, body: '{"id":"/subs' });
      assert.deepEqual(error, {
        code: 'PARSE_ERROR',
        message: `Azure Resource Manager answered HTTP ${status}, but its answer could not be read (SyntaxError: Unterminated string in JSON at position 12): the request may have been carried out.`,
        httpStatus: status,
      });
      assert.equal(isIndeterminate(error), true, String(status));
      assert.equal(isUnreadableAnswer(error), true);
      assert.equal(isPassing(error), true, 'reading it again may work');
    }
    // The body broke off before it was read whole: no status, and nothing says ARM refused.
    const broken = toArmError(new RestError('Error reading response as text: aborted', { code: RestError.PARSE_ERROR }));
    assert.equal(broken.code, 'PARSE_ERROR');
    assert.match(broken.message, /^Azure Resource Manager answered, but its answer could not be read \(Error reading response as text: aborted\)/);
    assert.equal(isIndeterminate(broken), true);
    // Any other answer that is no refusal: ARM accepted the action (202) but named nothing to follow.
    assert.equal(isIndeterminate({ code: 'MissingPollingUrl', message: 'no poll URL', httpStatus: 202 }), true);
    // A refusal whose body could not be read is still a refusal.
    const refused = toArmError(cutShort(403));
    assert.equal(refused.httpStatus, 403);
    assert.equal(isIndeterminate(refused), false);
    assert.equal(isUnreadableAnswer(refused), false);
    assert.equal(isIndeterminate(armErrorFromResponse(400, { error: { code: 'InvalidTemplate', message: 'no' } })), false);
  });

  it('describes an answer without an ARM error body by its status', () => {
    assert.deepEqual(armErrorFromResponse(502, '<html>Bad gateway</html>'), {
      code: 'Http502',
      message: 'Azure Resource Manager answered HTTP 502.',
      httpStatus: 502,
    });
  });

  it('flattens nothing to nothing', () => {
    assert.deepEqual(flattenDetails(undefined), []);
  });

  it('takes a certificate refused in the handshake as nothing sent, and any other TLS failure as an outcome not known', () => {
    for (const code of ['CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      assert.equal(isIndeterminate({ code, message: '' }), false, code);
    }
    for (const code of ['ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', 'ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNRESET']) {
      assert.equal(isIndeterminate({ code, message: '' }), true, code);
    }
  });

  it('tells a passing failure (throttled, ARM failing, the connection) from one trying again will not cure', () => {
    for (const passing of [{ code: 'TooManyRequests', httpStatus: 429 }, { code: 'ServiceUnavailable', httpStatus: 503 }, { code: 'ECONNRESET' }, { code: 'ECONNREFUSED' }, { code: 'REQUEST_SEND_ERROR' }, { code: 'CERT_NOT_YET_VALID' }, { code: 'CERT_HAS_EXPIRED' }, { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, { code: 'SELF_SIGNED_CERT_IN_CHAIN' }]) {
      assert.equal(isPassing({ ...passing, message: '' }), true, passing.code);
    }
    for (const lasting of [{ code: 'AuthorizationFailed', httpStatus: 403 }, { code: 'NotFound', httpStatus: 404 }, { code: 'InvalidTemplate' }, { code: 'UnexpectedError' }, { code: 'Aborted' }, { code: 'CredentialUnavailableError' }]) {
      assert.equal(isPassing({ ...lasting, message: '' }), false, lasting.code);
    }
  });
});
