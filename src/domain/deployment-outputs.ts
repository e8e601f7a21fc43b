/**
 * A deployment's outputs are shown on the request's card, posted to the channel, and kept in the
 * request and its saved versions. A template may output a secret (a generated password, a storage
 * key, a connection string, a SAS URL) as a plain string: such outputs are withheld before anything
 * keeps them, by their type (secureString, secureObject), by a name that looks secret, or by a value
 * that carries a key or a signature, and the card names those withheld, to be read in Azure by whoever
 * may. docs/operations.md.
 */
import { setOwn } from './audit';
import { carriesCredential } from './credential-text';

/** Words in an output's name that mark it secret, looked for in its letters and digits, any case. */
const SECRET_WORDS = ['password', 'passwd', 'passphrase', 'pwd', 'secret', 'key', 'token', 'connectionstring', 'credential', 'sas', 'signature', 'certificate'];
const SECURE_TYPES = new Set(['securestring', 'secureobject']);

function looksSecret(name: string, output: { type?: unknown; value?: unknown } | undefined): boolean {
  if (typeof output?.type === 'string' && SECURE_TYPES.has(output.type.toLowerCase())) return true;
  const letters = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (SECRET_WORDS.some((w) => letters.includes(w))) return true;
  // What a connection string or a SAS URL carries, whatever the output is called.
  return carriesCredential(JSON.stringify(output?.value) ?? '');
}

/** The outputs (as ARM gives them: a type and a value each) to keep and show, and the names of those withheld. */
export function shownOutputs(outputs: Record<string, { type?: unknown; value?: unknown } | undefined>): { outputs: Record<string, unknown>; withheld: string[] } {
  const kept: Record<string, unknown> = {};
  const withheld: string[] = [];
  for (const [name, output] of Object.entries(outputs)) {
    if (looksSecret(name, output)) withheld.push(name);
    else setOwn(kept, name, output?.value);
  }
  return { outputs: kept, withheld };
}
