/**
 * Worker threads that run code from one of Countersign's own modules (export encoding, ranges of a
 * verification). Compiled (dist/, plain node) the module is JavaScript and is required as is; run from
 * the TypeScript sources (development, tests) the worker first registers tsx's CommonJS hook, the way
 * the process itself loads them. The body is
 * the worker's code after that preamble, with `parentPort` and `workerData` (which holds `module`)
 * in scope.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';

const PREAMBLE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.register) require(workerData.register);
`;

/** Throws as `new Worker` does when no thread can be started; callers fall back to the main thread. */
export function startModuleWorker(body: string, module: string, data: Record<string, unknown>, resourceLimits?: ResourceLimits): Worker {
  const register = module.endsWith('.ts') ? require.resolve('tsx/cjs') : undefined;
  return new Worker(PREAMBLE + body, { eval: true, workerData: { ...data, module, register }, ...(resourceLimits ? { resourceLimits } : {}) });
}
