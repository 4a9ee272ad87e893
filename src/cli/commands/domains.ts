import type { Command } from "commander";
import type { DomainView } from "../../shared/domains.js";
import { type CliContext, print, printJson, report } from "../context.js";
import { microSession } from "../session.js";

const PATH_OPTION = ["-p, --path <path>", "the micro's folder (default: current folder)"] as const;

function certificate(domain: DomainView): string {
  const cert = domain.certificate;
  if (!cert) return "";
  if (cert.status === "issued")
    return `  certificate until ${cert.expiresAt}${cert.error ? ` (renewal failed: ${cert.error})` : ""}`;
  if (cert.status === "failed") return `  certificate failed: ${cert.error}`;
  return "  certificate pending";
}

export function register(program: Command, ctx: CliContext, run: (work: () => Promise<number>) => Promise<void>): void {
  const domains = program
    .command("domains")
    .description("serve the micro at host names of your own besides its subdomain (point their DNS at the server)");

  domains
    .command("add")
    .description("serve the micro at a host name; with ACME (--acme-email) the server obtains its certificate")
    .argument("<host>", "a DNS name such as app.example.com, outside the platform's own domain")
    .option(...PATH_OPTION)
    .option("--json", "print the domain as JSON")
    .addHelpText("after", "\nExample:\n  micros domains add app.example.com")
    .action((host: string, options: { path?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        const { domain } = await api.addDomain(micro.id, host);
        report(ctx, options.json, domain, `${micro.name} now answers at ${domain.endpoint}`);
        return 0;
      }),
    );

  domains
    .command("list")
    .description("list the micro's custom domains")
    .option(...PATH_OPTION)
    .option("--json", "print JSON for scripts")
    .action((options: { path?: string; json?: boolean }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        const list = (await api.listDomains(micro.id)).domains;
        if (options.json) printJson(ctx, list);
        else if (list.length === 0)
          print(ctx, `${micro.name} has no custom domains: add one with \`micros domains add <host>\`.`);
        else for (const domain of list) print(ctx, `${domain.endpoint}${certificate(domain)}`);
        return 0;
      }),
    );

  domains
    .command("remove")
    .description("stop serving the micro at a host name")
    .argument("<host>", "one of `micros domains list`")
    .option(...PATH_OPTION)
    .action((host: string, options: { path?: string }) =>
      run(async () => {
        const { api, micro } = await microSession(ctx, options.path);
        await api.removeDomain(micro.id, host);
        print(ctx, `${micro.name} no longer answers at ${host}.`);
        return 0;
      }),
    );
}
