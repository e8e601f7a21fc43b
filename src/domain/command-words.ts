/**
 * A request's command and the values its requester typed, as one line of words for people to read
 * (a card's first sentence, the `pending` list, reminders). A typed value is free text within its
 * catalog pattern, so it is quoted where it could otherwise read as more of the sentence around it.
 */

/**
 * A value the requester typed, as one word: in double quotes (a quote inside it escaped) when it
 * holds a space, a quote, "=", "," or ")", or nothing at all. Otherwise a tag value of `x on resource
 * group production-api-service` would read as the target ("set owner=x on resource group
 * production-api-service on resource group staging-old"), or `x) from Dave Lead` as who asked.
 */
export function valueAsWord(value: string): string {
  return /^[^\s"=,()]+$/u.test(value) ? value : JSON.stringify(value);
}

/**
 * "tag staging-old owner "platform team"": the command and its values, in their order, as its
 * requester would type it again. `commandNames` are the catalog's: a message is read as the longest
 * name it begins with, so when the values would continue the command's name into another's (a `tag`
 * of the group `vm` beside a `tag vm` command), the first value is written by name (`tag group=vm
 * owner alice`), which no name continues into.
 */
export function commandWords(command: string, parameters: Record<string, string>, commandNames: readonly string[] = []): string {
  const entries = Object.entries(parameters);
  const [first, ...rest] = entries;
  if (first && readAsAnother(command, entries.map(([, value]) => value), commandNames)) {
    return [command, `${first[0]}=${valueAsWord(first[1])}`, ...rest.map(([, value]) => valueAsWord(value))].join(' ');
  }
  return [command, ...entries.map(([, value]) => valueAsWord(value))].join(' ');
}

/** Whether the command's words followed by these values begin another, longer, command name (compared as the catalog matches: word for word, any case). */
function readAsAnother(command: string, values: readonly string[], commandNames: readonly string[]): boolean {
  const typed = [...nameWords(command), ...values.map((v) => v.toLowerCase())];
  const own = nameWords(command).length;
  return commandNames.some((name) => {
    const other = nameWords(name);
    return other.length > own && other.length <= typed.length && other.every((w, i) => typed[i] === w);
  });
}

function nameWords(name: string): string[] {
  return name.trim().toLowerCase().split(/\s+/).filter(Boolean);
}

/** Whether a command's (or built-in's) name and the words typed after `help` agree as far as both go. */
export function namesTopic(name: string, topic: string): boolean {
  const named = name.toLowerCase().split(/\s+/).filter(Boolean);
  const typed = topic.toLowerCase().split(/\s+/).filter(Boolean);
  const k = Math.min(named.length, typed.length);
  return k > 0 && named.slice(0, k).every((w, i) => w === typed[i]);
}
