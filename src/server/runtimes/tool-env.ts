/**
 * The environment for a package tool (npm, pip) run on the host: what it is
 * given, plus the server's PATH, HOME, proxy settings and the tool's own
 * variables (`own`), so it reaches a registry the way the operator set up.
 */
export function toolEnv(given: NodeJS.ProcessEnv, own: RegExp): NodeJS.ProcessEnv {
  const env = { ...given };
  for (const [key, value] of Object.entries(process.env)) {
    if ((/^(PATH|HOME|https?_proxy|no_proxy)$/i.test(key) || own.test(key)) && !(key in env)) env[key] = value;
  }
  return env;
}
