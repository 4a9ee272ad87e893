import type { z } from "zod";
import { MicrosError } from "../../shared/errors.js";

/** Checks input against a schema at the edge and reports every problem at once. */
export function parse<Schema extends z.ZodType>(schema: Schema, input: unknown, what: string): z.output<Schema> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join(".");
    return field ? `${field} ${issue.message}` : issue.message;
  });
  throw new MicrosError("ERR_VALIDATION", `Invalid ${what}: ${problems.join("; ")}.`, { details: { problems } });
}
