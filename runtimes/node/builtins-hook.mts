/** The `import` side of builtins.mts, run on Node's module hooks thread: the built-in when the app has none. */
let builtins: Record<string, string> = {};

export function initialize(data: Record<string, string>): void {
  builtins = data;
}

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  try {
    return await next(specifier, context);
  } catch (err) {
    const builtin = builtins[specifier];
    if (builtin && (err as { code?: string }).code === "ERR_MODULE_NOT_FOUND") {
      return { url: builtin, format: "commonjs", shortCircuit: true };
    }
    throw err;
  }
}
