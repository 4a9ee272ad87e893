import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { registryEnv } from "./build-env.js";

/** npm's registry and PyPI's index and files: where installs go unless the operator names others. */
const DEFAULT_REGISTRIES = ["registry.npmjs.org", "pypi.org", "files.pythonhosted.org"];
/** A lookup slower than this keeps the last answer: the build has one deadline for everything. */
const LOOKUP_MS = 3000;

/** The host names of the registries and proxies builds are told to use, and the default registries. */
export function registryHostNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set(DEFAULT_REGISTRIES);
  for (const value of Object.values(registryEnv(env))) {
    for (const word of value.split(/[\s,]+/)) {
      try {
        const { hostname } = new URL(word);
        // An address needs no lookup, and a bracketed IPv6 one is no name.
        if (/^[a-z0-9.-]+$/i.test(hostname) && !/^[\d.]+$/.test(hostname)) names.add(hostname.toLowerCase());
      } catch {
        // Not a URL (a no_proxy list, strict_ssl's true): nothing to look up.
      }
    }
  }
  return [...names];
}

export type Resolve = (name: string) => Promise<string[]>;

const resolveIPv4: Resolve = async (name) => (await lookup(name, { all: true, family: 4 })).map((each) => each.address);

/**
 * The hosts file an installing build sees: the host's own, then the registries' addresses as this server last
 * resolved them. A build otherwise resolves every name through the host's DNS, and a resolver that falters for a
 * minute (EAI_AGAIN halfway through an npm install) fails the deploy though the registry is up. Each install looks
 * the registries up afresh and keeps what it finds; a lookup that fails or is slow keeps the answer before. A name
 * not yet resolved, and every other name, is left to DNS.
 */
export class RegistryHosts {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly names: readonly string[] = registryHostNames(),
    private readonly resolve: Resolve = resolveIPv4,
    private readonly hostsPath = "/etc/hosts",
  ) {}

  async hostsFile(): Promise<string> {
    await Promise.all(this.names.map((name) => this.refresh(name)));
    const own = await readFile(this.hostsPath, "utf8").catch(() => "127.0.0.1 localhost\n");
    const pinned = [...this.known].map(([name, address]) => `${address} ${name}`);
    return `${own.trimEnd()}\n# Package registries, as the server last resolved them\n${pinned.join("\n")}\n`;
  }

  private async refresh(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), LOOKUP_MS);
    });
    try {
      const addresses = await Promise.race([this.resolve(name), late]);
      if (addresses?.[0]) this.known.set(name, addresses[0]);
    } catch {
      // Kept: the answer before, if there was one.
    } finally {
      clearTimeout(timer);
    }
  }
}
