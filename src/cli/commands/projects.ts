import type { Command } from "commander";
import { type CliContext, print, printJson } from "../context.js";
import { client } from "../session.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const projects = program
    .command("projects")
    .description("list your projects (`projects create NAME` makes one)")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { projects: list } = await (await client(ctx)).listProjects();
        if (options.json) printJson(ctx, list);
        else if (list.length === 0) print(ctx, "No projects yet: `micros new` creates the project `default`.");
        else for (const project of list) print(ctx, `${project.name.padEnd(24)} created ${project.createdAt}`);
        return 0;
      }),
    );

  projects
    .command("rotate-key")
    .description("give a project a new key (MICROS_PROJECT_KEY); its micros restart with it")
    .argument("<name>", "the project's name")
    .action((name: string) =>
      run(async () => {
        await (await client(ctx)).rotateProjectKey(name);
        print(ctx, `Rotated the key of project ${name}; its micros get the new one on their next start.`);
        return 0;
      }),
    );

  projects
    .command("create")
    .description("create a project")
    .argument("<name>", "the project's name")
    .action((name: string) =>
      run(async () => {
        const { project } = await (await client(ctx)).createProject(name);
        print(ctx, `Created project ${project.name}.`);
        return 0;
      }),
    );
}
