import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { NAME_PATTERN, NAME_RULE } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { type CliContext, printJson, step } from "../context.js";
import { hasMicro, STATE_DIR, writeMicro } from "../local-state.js";
import { printMicro } from "../output.js";
import { client } from "../session.js";
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

function chooseRuntime(options: NewOptions, detected: "node" | "python" | undefined, dir: string): string {
  if (options.node && options.python)
    throw new MicrosError("ERR_VALIDATION", "Choose one of --node and --python, not both.");
  if ((options.node || options.python) && options.runtime) {
    throw new MicrosError("ERR_VALIDATION", "Give either --node/--python or --runtime, not both.");
  }
  const flagged = options.node ? "node" : options.python ? "python" : undefined;
  const requested = flagged ?? options.runtime;
  if (!detected) {
    throw new MicrosError(
      "ERR_MISSING_ENTRY",
      `No entry file in ${dir}: add index.js that ends with \`module.exports = app\` (Node.js) or main.py with a module-level \`app\` (Python), then run \`micros new\` again.`,
    );
  }
  if (requested && !requested.startsWith(detected === "node" ? "node" : "python")) {
    throw new MicrosError("ERR_VALIDATION", `${dir} holds a ${detected} app, but ${requested} was asked for.`);
  }
  return requested ?? detected;
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
    .option("--node", "a Node.js micro")
    .option("--python", "a Python micro")
    .option("--runtime <runtime>", "a runtime id, e.g. nodejs20")
    .option("--json", "print the micro's details as JSON")
    .addHelpText("after", "\nExamples:\n  micros new\n  micros new ./api --name my-api --project shop")
    .action((path: string | undefined, options: NewOptions) =>
      run(async () => {
        const dir = resolve(ctx.cwd, path ?? ".");
        if (await hasMicro(dir)) {
          throw new MicrosError(
            "ERR_VALIDATION",
            `${dir} is already a micro (it has a ${STATE_DIR}/ folder). Use \`micros deploy\` to update it.`,
          );
        }
        const runtime = chooseRuntime(options, await detectLanguage(dir), dir);
        const name = options.name ?? nameFromFolder(dir);
        if (!NAME_PATTERN.test(name)) {
          throw new MicrosError(
            "ERR_VALIDATION",
            `"${name}" is not a valid micro name: use ${NAME_RULE}. Pick one with --name.`,
          );
        }
        const api = await client(ctx);
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
