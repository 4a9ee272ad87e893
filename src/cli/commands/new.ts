import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { NAME_PATTERN, NAME_RULE } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { type CliContext, printJson, step } from "../context.js";
import { hasMicro, STATE_DIR, writeMicro } from "../local-state.js";
import { printMicro } from "../output.js";
import { client } from "../session.js";
import { STARTERS } from "../starters.js";
import { deployEverything } from "../upload.js";

interface NewOptions {
  name?: string;
  project: string;
  node?: boolean;
  python?: boolean;
  runtime?: string;
  json?: boolean;
}

/** Deta's rule: main.py means Python, index.js or package.json means Node, both is an error. */
async function detectLanguage(dir: string): Promise<"node" | "python" | undefined> {
  const python = await exists(join(dir, "main.py"));
  const node = (await exists(join(dir, "index.js"))) || (await exists(join(dir, "package.json")));
  if (python && node) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `${dir} has both main.py and index.js/package.json; keep the entry file of one runtime.`,
    );
  }
  return python ? "python" : node ? "node" : undefined;
}

/**
 * The runtime to ask for, and whether to write a starter app first: an entry
 * file decides the language (a flag must agree with it); an empty folder needs
 * a flag and gets a starter app; a folder with other files and no entry is an error.
 */
async function chooseRuntime(
  options: NewOptions,
  detected: "node" | "python" | undefined,
  dir: string,
): Promise<{ runtime: string; starter?: "node" | "python" }> {
  if (options.node && options.python) {
    throw new MicrosError("ERR_VALIDATION", "Choose one of --node and --python, not both.");
  }
  if ((options.node || options.python) && options.runtime) {
    throw new MicrosError("ERR_VALIDATION", "Give either --node/--python or --runtime, not both.");
  }
  const requested = options.node ? "node" : options.python ? "python" : options.runtime;
  const language = requested?.startsWith("python") ? "python" : requested ? "node" : undefined;
  if (!detected) {
    const visible = (await readdir(dir).catch(() => [])).filter((name) => !name.startsWith("."));
    if (visible.length > 0) {
      throw new MicrosError(
        "ERR_MISSING_ENTRY",
        `No entry file in ${dir}: add index.js that ends with \`module.exports = app\` (Node.js) or main.py with a module-level \`app\` (Python), then run \`micros new\` again.`,
      );
    }
    if (!requested || !language) {
      throw new MicrosError(
        "ERR_VALIDATION",
        `${dir} is empty: choose a runtime with \`micros new --node\` or \`micros new --python\`, and a starter app is written for you.`,
      );
    }
    return { runtime: requested, starter: language };
  }
  if (language && language !== detected) {
    throw new MicrosError("ERR_VALIDATION", `${dir} holds a ${detected} app, but ${requested} was asked for.`);
  }
  return { runtime: requested ?? detected };
}

/** A folder name made into a valid micro name: `My App` → `my-app`. */
function nameFromFolder(dir: string): string {
  return basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63);
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("new")
    .description("create a micro from a folder and deploy its code")
    .argument("[path]", "the app's folder (default: current folder)")
    .option("--name <name>", "the micro's name (default: the folder's name)")
    .option("--project <project>", "the project to create it in", "default")
    .option("-n, --node", "a Node.js micro")
    .option("-p, --python", "a Python micro")
    .option("--runtime <runtime>", "a runtime id, e.g. nodejs20")
    .option("--json", "print the micro's details as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  micros new\n  micros new ./api --name my-api --project shop\n  micros new -n ./empty-folder   (writes a starter app)",
    )
    .action((path: string | undefined, options: NewOptions) =>
      run(async () => {
        const dir = resolve(ctx.cwd, path ?? ".");
        if (await hasMicro(dir)) {
          throw new MicrosError(
            "ERR_VALIDATION",
            `${dir} is already a micro (it has a ${STATE_DIR}/ folder). Use \`micros deploy\` to update it.`,
          );
        }
        await mkdir(dir, { recursive: true });
        const { runtime, starter } = await chooseRuntime(options, await detectLanguage(dir), dir);
        const name = options.name ?? nameFromFolder(dir);
        if (!NAME_PATTERN.test(name)) {
          throw new MicrosError(
            "ERR_VALIDATION",
            `"${name}" is not a valid micro name: use ${NAME_RULE}. Pick one with --name.`,
          );
        }
        const api = await client(ctx);
        if (starter) {
          for (const [file, text] of Object.entries(STARTERS[starter])) await writeFile(join(dir, file), text);
          step(ctx, `Wrote a starter app (${Object.keys(STARTERS[starter]).join(", ")}).`);
        }
        step(ctx, `Creating micro ${name} in project ${options.project}...`);
        const { micro } = await api.createMicro({ name, project: options.project, runtime });
        await writeMicro(dir, { id: micro.id, name: micro.name, project: micro.project, host: api.host });
        step(ctx, `Created ${micro.name} (${micro.runtime}); its state is in ${join(dir, STATE_DIR)}.`);
        const result = await deployEverything(ctx, api, micro.id, dir).catch((err: unknown) => {
          step(
            ctx,
            "The micro was created but its code was not deployed. Fix the problem below and run `micros deploy`.",
          );
          throw err;
        });
        if (options.json) printJson(ctx, result.micro);
        else printMicro(ctx, result.micro);
        return 0;
      }),
    );
}
