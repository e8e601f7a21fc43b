/**
 * What a storage SAS URL or a connection string carries in its text: `sig=` (a SAS's signature, in a
 * URL's query), and `AccountKey=`, `SharedAccessKey=`, `Password=` or `Pwd=` (a connection string's
 * key or password). Azure's own words can hold one: a deployment whose nested template could not be
 * fetched names the template's address, SAS and all ("Unable to download deployment content from
 * 'https://….blob.core.windows.net/t/nested.json?sv=…&sig=…'"), and an output or an error message
 * can quote a connection string. Such text goes on a card posted to a channel, into the audit log
 * (which keeps it for good) and into the logs.
 */

/** The name of a credential's value, up to and including its "=". The value runs to the next & ; quote, space or backslash. */
const CREDENTIAL = /([?&]sig=|\b(?:AccountKey|SharedAccessKey|Password|Pwd)=)[^&;\s"'\\]+/gi;

/** Whether the text carries a SAS signature or a connection string's key or password. */
export function carriesCredential(text: string): boolean {
  CREDENTIAL.lastIndex = 0;
  return CREDENTIAL.test(text);
}

/** The text with each SAS signature and connection-string key or password replaced by "[redacted]". */
export function withoutCredentials(text: string): string {
  return text.replace(CREDENTIAL, '$1[redacted]');
}
