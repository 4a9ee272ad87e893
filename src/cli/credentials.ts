import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { MicrosError } from "../shared/errors.js";
import type { CliContext } from "./context.js";

export interface Credentials {
  host: string;
  token: string;
}

export function configDir(ctx: CliContext): string {
  return join(ctx.env.HOME ?? homedir(), ".micros");
}

function credentialsFile(ctx: CliContext): string {
  return join(configDir(ctx), "credentials.json");
}

async function readStored(ctx: CliContext): Promise<Partial<Credentials>> {
  try {
    return JSON.parse(await readFile(credentialsFile(ctx), "utf8")) as Partial<Credentials>;
  } catch {
    return {};
  }
}

/** MICROS_HOST and MICROS_ACCESS_TOKEN win over what `micros login` stored. */
export async function loadCredentials(ctx: CliContext): Promise<Credentials> {
  const stored = await readStored(ctx);
  const host = ctx.env.MICROS_HOST || stored.host;
  const token = ctx.env.MICROS_ACCESS_TOKEN || stored.token;
  if (!host || !token) {
    throw new MicrosError(
      "ERR_UNAUTHORIZED",
      "Not logged in. Run `micros login --host <url> --token <token>` (the admin token is in <data-dir>/admin-token), or set MICROS_HOST and MICROS_ACCESS_TOKEN.",
    );
  }
  return { host: host.replace(/\/+$/, ""), token };
}

export async function saveCredentials(ctx: CliContext, credentials: Credentials): Promise<string> {
  const dir = configDir(ctx);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(ctx);
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // writeFile keeps the mode of a file that already exists.
  await chmod(file, 0o600);
  return file;
}

export async function removeCredentials(ctx: CliContext): Promise<void> {
  await rm(credentialsFile(ctx), { force: true });
}
