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

/** "tag staging-old owner "platform team"": the command and its values, in their order. */
export function commandWords(command: string, parameters: Record<string, string>): string {
  return [command, ...Object.values(parameters).map(valueAsWord)].join(' ');
}

/** Whether a command's (or built-in's) name and the words typed after `help` agree as far as both go. */
export function namesTopic(name: string, topic: string): boolean {
  const named = name.toLowerCase().split(/\s+/).filter(Boolean);
  const typed = topic.toLowerCase().split(/\s+/).filter(Boolean);
  const k = Math.min(named.length, typed.length);
  return k > 0 && named.slice(0, k).every((w, i) => w === typed[i]);
}
