/** Writes docs/cli.md from the command definitions (`npm run docs:cli`). */
import { writeFile } from "node:fs/promises";
import { buildProgram } from "./main.js";
import { cliReference } from "./reference.js";

const program = await buildProgram(
  { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() },
  async () => {},
);
await writeFile(new URL("../../../docs/cli.md", import.meta.url), cliReference(program));
