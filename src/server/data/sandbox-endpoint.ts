import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { hostname } from "node:os";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";

/** The names Deta's SDKs call when nothing else is set (`DETA_BASE_HOST`, `DETA_DRIVE_HOST`). */
export const DETA_HOSTS = ["database.deta.sh", "drive.deta.sh"] as const;

/** Where each sandbox sees the files of `SandboxEndpointFiles.publicDir`. */
export const INSIDE_PLATFORM_FILES = "/etc/micros";

/** The system's CA bundle on Debian and its kin; the platform's CA is added to it for Python. */
const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** The CA lasts; the service's certificate is issued afresh at every start, so it never outlives its use. */
const CA_DAYS = 3650;
const SERVICE_DAYS = 397;

export interface SandboxEndpointFiles {
  /** The service's key and certificate, for the HTTPS server. */
  key: string;
  cert: string;
  /**
   * What sandboxes bind read-only at /etc/micros: `hosts` (the host's, plus Deta's names at the services address),
   * `ca.crt` (the platform's CA, for NODE_EXTRA_CA_CERTS) and `ca-bundle.pem` (the system's CAs and the platform's,
   * for Python's SSL_CERT_FILE and REQUESTS_CA_BUNDLE). Its parent is the server's alone (0700): a sandbox reaches
   * it only through the read-only view mounted for it.
   */
  publicDir: string;
}

/** The variables that make a sandbox's Node and Python trust the platform's CA. */
export function trustEnvironment(): Record<string, string> {
  return {
    NODE_EXTRA_CA_CERTS: `${INSIDE_PLATFORM_FILES}/ca.crt`,
    SSL_CERT_FILE: `${INSIDE_PLATFORM_FILES}/ca-bundle.pem`,
    REQUESTS_CA_BUNDLE: `${INSIDE_PLATFORM_FILES}/ca-bundle.pem`,
  };
}

async function openssl(args: string[], cwd: string, what: string): Promise<void> {
  const result = await runCommand("openssl", args, { cwd, env: { PATH: "/usr/bin:/bin" }, timeoutMs: 30_000 });
  if (result.exitCode === null && !result.timedOut) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      "openssl is not installed: micros reach Base and Drive over HTTPS with a certificate it makes. Install it (Debian/Ubuntu: apt-get install openssl ca-certificates), or start with --sandbox none for development only.",
    );
  }
  if (result.exitCode !== 0) {
    throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `Could not ${what} with openssl: ${result.output.trim()}`);
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * The platform's certificate authority (`<data-dir>/ca/`, made at first start, its key 0600) and a certificate it
 * issues for Deta's hosts, so that Deta's SDKs, which insist on HTTPS, reach Base and Drive from inside a micro.
 * Made with the host's `openssl` (there wherever `ca-certificates` is): no library joins the daemon for it, and the
 * keys never pass through JavaScript.
 */
export async function prepareSandboxEndpoint(dataDir: string, address: string): Promise<SandboxEndpointFiles> {
  const dir = join(dataDir, "ca");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  if (!(await exists(join(dir, "ca.crt"))) || !(await exists(join(dir, "ca.key")))) {
    await openssl(
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key.new",
        "-out",
        "ca.crt.new",
        "-days",
        String(CA_DAYS),
        "-subj",
        `/O=Micros/CN=Micros platform CA (${hostname().slice(0, 40)})`,
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ],
      dir,
      "make the platform's certificate authority",
    );
    await chmod(join(dir, "ca.key.new"), 0o600);
    await rename(join(dir, "ca.key.new"), join(dir, "ca.key"));
    await rename(join(dir, "ca.crt.new"), join(dir, "ca.crt"));
  }
  await chmod(join(dir, "ca.key"), 0o600);
  await writeFile(
    join(dir, "service.ext"),
    `subjectAltName=${DETA_HOSTS.map((name) => `DNS:${name}`).join(",")}\n` +
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    { mode: 0o600 },
  );
  await openssl(
    [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      "service.key",
      "-out",
      "service.csr",
      "-subj",
      `/CN=${DETA_HOSTS[0]}`,
    ],
    dir,
    "make the Base and Drive key",
  );
  await chmod(join(dir, "service.key"), 0o600);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "service.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${randomBytes(16).toString("hex")}`,
      "-days",
      String(SERVICE_DAYS),
      "-extfile",
      "service.ext",
      "-out",
      "service.crt",
    ],
    dir,
    "issue the Base and Drive certificate",
  );
  await rm(join(dir, "service.csr"), { force: true });

  const publicDir = join(dir, "sandbox");
  await mkdir(publicDir, { recursive: true, mode: 0o755 });
  await chmod(publicDir, 0o755);
  const caCert = await readFile(join(dir, "ca.crt"), "utf8");
  const system = await readFile(SYSTEM_BUNDLE, "utf8").catch(() => "");
  const hosts = await readFile("/etc/hosts", "utf8").catch(() => "127.0.0.1\tlocalhost\n");
  const files: Record<string, string> = {
    "ca.crt": caCert,
    "ca-bundle.pem": `${system}${system.endsWith("\n") || !system ? "" : "\n"}${caCert}`,
    hosts: `${hosts}${hosts.endsWith("\n") ? "" : "\n"}# Deta's Base and Drive, served by this Micros server\n${address}\t${DETA_HOSTS.join(" ")}\n`,
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(publicDir, `${name}.new`), text, { mode: 0o644 });
    await chmod(join(publicDir, `${name}.new`), 0o644);
    await rename(join(publicDir, `${name}.new`), join(publicDir, name));
  }
  return { key: join(dir, "service.key"), cert: join(dir, "service.crt"), publicDir };
}

export interface SandboxEndpoint {
  close(): Promise<void>;
}

/** Serves `handler` over HTTPS at the services address, for the server's sandboxes (the nftables rule of network.ts). */
export async function serveToSandboxes(
  files: SandboxEndpointFiles,
  at: { address: string; port: number },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<SandboxEndpoint> {
  const server: Server = createServer(
    { key: await readFile(files.key), cert: await readFile(files.cert), keepAliveTimeout: 65_000 },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
