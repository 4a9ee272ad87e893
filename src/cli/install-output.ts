import { type CliContext, print } from "./context.js";

/** What a failed install printed, when the server sent it with the error: the user's first clue. */
export function printInstallOutputOnFailure(ctx: CliContext, details: Record<string, unknown> | undefined): void {
  const output = details?.output;
  if (typeof output === "string" && output.trim()) {
    print(ctx, "--- install output ---");
    print(ctx, output.trimEnd());
    print(ctx, "----------------------");
  }
}
