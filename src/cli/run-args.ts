/**
 * `micros run` arguments as Deta made them JSON: `--key value` is a string,
 * a repeated key becomes a list, a key without a value (`--flag`, `-f`) is true.
 */
export function parseRunArgs(words: readonly string[]): { action: string; args: Record<string, unknown> } {
  let rest = [...words];
  let action = "";
  if (rest[0] !== undefined && !rest[0].startsWith("-")) {
    action = rest[0];
    rest = rest.slice(1);
  }
  const args: Record<string, unknown> = {};
  const add = (key: string, value: string | true) => {
    const existing = args[key];
    if (existing === undefined) args[key] = value;
    else args[key] = [...(Array.isArray(existing) ? existing : [existing]), value];
  };
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    if (!word.startsWith("-")) continue;
    const key = word.replace(/^--?/, "");
    const next = rest[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      add(key, next);
      i++;
    } else {
      add(key, true);
    }
  }
  return { action, args };
}
