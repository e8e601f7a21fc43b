/**
 * The command catalog: what people may ask for, how their words map to parameters, and which
 * Azure operation a fully-specified command resolves to. Pure: templates arrive through a loader.
 * This is its public surface; types.ts says what a command is, match.ts finds one in what was
 * typed, parameters.ts checks its values, resolve.ts turns it into an operation.
 */
export type {
  CommandPolicy,
  CommandSpec,
  OperationTemplate,
  ParameterCheck,
  ParameterProblem,
  ParameterSpec,
  ParsedCommand,
  RequesterRule,
} from './types';
export { Catalog, insideQuote, nearFirstWord, reasonKeywordTwiceMessage, reasonsTyped, reasonStart, reasonTypedTwiceMessage, tokenize } from './match';
export { checkParameters, checkValue, isCheckedValue } from './parameters';
export { nameOverlapWarnings } from './overlaps';
export { asChange, asQuery, pathParameters, type PathUse, pathValueProblem, placeholdersIn, resolveOperation, type ResolveContext } from './resolve';
