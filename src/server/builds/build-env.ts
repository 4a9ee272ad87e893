/**
 * Settings of the operator's that tell npm and pip where the registries are
 * (a mirror, a proxy), passed from the server's environment into every build.
 * A named list, not every `npm_config_*`: a registry token in the server's
 * environment must not reach a tenant's install scripts.
 */
const PASSED = [
  "npm_config_registry",
  "npm_config_proxy",
  "npm_config_https_proxy",
  "npm_config_noproxy",
  "npm_config_strict_ssl",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "PIP_INDEX_URL",
  "PIP_EXTRA_INDEX_URL",
  "PIP_TRUSTED_HOST",
];

export function registryEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const name of PASSED) {
    const value = env[name];
    if (value !== undefined) passed[name] = value;
  }
  return passed;
}
