import { envKeyProblem } from "../shared/api.js";
import { MicrosError } from "../shared/errors.js";

/**
 * Reads a dotenv file: `KEY=value` lines, `export KEY=value`, comments and
 * blank lines; values unquoted (trimmed, ` #` starts a comment), in single
 * quotes (taken literally) or double quotes (with \n, \t, \" and \\ escapes).
 * Any line it cannot read is an error naming the line, so nothing half-read
 * is ever sent.
 */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  const problem = (index: number, what: string) =>
    new MicrosError("ERR_VALIDATION", `${file}, line ${index + 1}: ${what}. Nothing was changed.`);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!match) throw problem(index, "expected KEY=value");
    const key = match[1] as string;
    const keyProblem = envKeyProblem(key);
    if (keyProblem) throw problem(index, `${key} ${keyProblem}`);
    vars[key] = parseValue(match[2] as string, () => problem(index, "the quoted value is not closed"));
  });
  return vars;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

function parseValue(text: string, unclosed: () => MicrosError): string {
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    const end = text.lastIndexOf(quote);
    if (end === 0) throw unclosed();
    const rest = text.slice(end + 1).trim();
    if (rest !== "" && !rest.startsWith("#")) throw unclosed();
    const inner = text.slice(1, end);
    return quote === "'" ? inner : inner.replace(/\\(.)/g, (all, char: string) => ESCAPES[char] ?? all);
  }
  const comment = text.search(/\s#/);
  return (comment === -1 ? text : text.slice(0, comment)).trim();
}
