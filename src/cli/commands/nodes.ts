import type { Command } from "commander";
import { type CliContext, print, printJson } from "../context.js";
import { client } from "../session.js";
import { table } from "../table.js";

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  program
    .command("nodes")
    .description("list the nodes of the cluster this server is in, and which are live (admin)")
    .option("--json", "print JSON for scripts")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { cluster, nodes } = await (await client(ctx)).listNodes();
        if (options.json) printJson(ctx, nodes);
        else if (!cluster) {
          print(
            ctx,
            "This server is not in a cluster: start each node with --database postgres://... and --cluster-secret.",
          );
        } else {
          const rows = nodes.map((node) => [
            node.self ? `${node.id} (this)` : node.id,
            node.address,
            node.live ? "live" : "gone",
            String(node.capacity),
            node.heartbeatAt,
          ]);
          for (const line of table(["NODE", "ADDRESS", "STATE", "CAPACITY", "LAST HEARTBEAT"], rows)) print(ctx, line);
        }
        return 0;
      }),
    );
}
