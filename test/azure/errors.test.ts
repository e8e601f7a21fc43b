import assert from 'node:assert/strict';
import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { armErrorFromResponse, flattenDetails, isIndeterminate, isPassing, toArmError } from '../../src/azure/errors';

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

  it('tells a passing failure (throttled, ARM failing, the connection) from one trying again will not cure', () => {
    for (const passing of [{ code: 'TooManyRequests', httpStatus: 429 }, { code: 'ServiceUnavailable', httpStatus: 503 }, { code: 'ECONNRESET' }, { code: 'ECONNREFUSED' }, { code: 'REQUEST_SEND_ERROR' }]) {
      assert.equal(isPassing({ ...passing, message: '' }), true, passing.code);
    }
    for (const lasting of [{ code: 'AuthorizationFailed', httpStatus: 403 }, { code: 'NotFound', httpStatus: 404 }, { code: 'InvalidTemplate' }, { code: 'UnexpectedError' }, { code: 'Aborted' }, { code: 'CredentialUnavailableError' }]) {
      assert.equal(isPassing({ ...lasting, message: '' }), false, lasting.code);
    }
  });
});
