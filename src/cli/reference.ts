import type { Command, Option } from "commander";

const INTRO = `# CLI reference

Generated from the command definitions by \`npm run docs:cli\`; a test fails when it is out of date.

Every command takes \`--help\`. Commands that act on a micro take its folder as \`[path]\` (default: the current
folder, or the nearest folder above it that has a \`.micros/\` folder; a \`[path]\` that does not exist is an
error). The server and token come from \`micros login\`, or from \`MICROS_HOST\` and \`MICROS_ACCESS_TOKEN\`, which
win. Output is for people unless \`--json\` is given; progress goes to stderr. The exit code is 0 only on success;
errors say what happened and what to do next ([errors.md](errors.md)).

A deploy uploads the folder's files except, as on Deta, hidden files and folders (a name starting with \`.\`:
\`.env.production\`, \`.npmrc\`, \`.aws/\`), and except \`node_modules/\`, Python caches and virtual environments,
and what \`.gitignore\`, \`.microsignore\` (the same syntax) and \`.detaignore\` (Deta's: a regular expression per
line, matched anywhere in the path, \`!\` to keep; a line that is not one, such as \`*.log\`, is read as in
\`.gitignore\`; it has the last word) leave out. A \`!\` line in \`.microsignore\` sends a hidden file
(\`!.well-known/\`); \`.env\`, \`.git/\`, \`.micros/\` and \`.deta/\` never travel. \`micros deploy\` names the hidden
files it skipped, and an upload of changes deletes from the release the files the folder no longer sends.
`;

/** The arguments a command declares, or the usage it states itself when they cannot say it (`cron set [path] <expression>`). */
function usage(command: Command, prefix: string): string {
  const stated = command.usage();
  const args = stated.startsWith("[options]")
    ? command.registeredArguments.map((arg) => (arg.required ? `<${arg.name()}>` : `[${arg.name()}]`))
    : [stated];
  return [prefix, command.name(), ...args].join(" ");
}

function optionRow(option: Option): string {
  const fallback =
    option.defaultValue === undefined || option.defaultValue === false
      ? ""
      : ` (default: ${String(option.defaultValue)})`;
  return `| \`${option.flags}\` | ${option.description}${fallback} |`;
}

function section(command: Command, prefix: string): string[] {
  const lines = [`## \`${usage(command, prefix)}\``, "", command.description(), ""];
  const options = command.options.filter((option) => option.long !== "--help");
  if (options.length > 0) lines.push("| option | meaning |", "| --- | --- |", ...options.map(optionRow), "");
  for (const sub of command.commands) lines.push(...section(sub, `${prefix} ${command.name()}`));
  return lines;
}

/** Markdown for every command of the program, in the order they are registered. */
export function cliReference(program: Command): string {
  const lines = [INTRO];
  for (const command of program.commands) lines.push(...section(command, program.name()));
  return `${lines.join("\n").trimEnd()}\n`;
}
