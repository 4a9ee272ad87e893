import type { FastifyRequest } from "fastify";
import type { MicroView } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import type { Scheduler } from "../cron/scheduler.js";
import type { DataService } from "../data/data-service.js";
import type { CustomDomains } from "../domains/custom-domains.js";
import type { ClientOf } from "../gateway/trusted-proxy.js";
import type { Dispatcher } from "../instances/dispatcher.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { ProjectKeys } from "../project-keys.js";
import type { Deployer } from "../releases/deployer.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { Secrets } from "../secrets.js";
import type { Micro } from "../store/micros.js";
import type { NodeRecord } from "../store/nodes.js";
import type { Store } from "../store/store.js";
import type { User } from "../store/users.js";
import type { RequestLog } from "../visor/request-log.js";
import { microView } from "./views.js";

/** Everything the API's routes use, passed in once so each route file stays small. */
export interface ApiContext {
  store: Store;
  runtimes: RuntimeRegistry;
  instances: InstanceManager;
  /** The only way to send anything to an instance. */
  dispatcher: Dispatcher;
  deployer: Deployer;
  logs: LogSink;
  secrets: Secrets;
  projectKeys: ProjectKeys;
  /** The Base and Drive services, for listing a project's bases and drives. */
  data: DataService;
  /** The executor's name, shown with every micro. */
  sandbox: string;
  limits: LimitPolicy;
  scheduler: Scheduler;
  visor: RequestLog;
  endpointFor(subdomain: string): string;
  /** Who sent a request, through trusted proxies: the dashboard's cookie is Secure when the client used HTTPS. */
  clientOf: ClientOf;
  customDomains: CustomDomains;
  /** The nodes of the cluster this server is in, or undefined outside one. */
  nodes(): Promise<(NodeRecord & { self: boolean })[] | undefined>;
}

export function currentUser(request: FastifyRequest): User {
  const user = request.user;
  if (!user) throw new MicrosError("ERR_UNAUTHORIZED", "Missing or invalid access token. Log in with `micros login`.");
  return user;
}

/** The micro with this id, when the caller owns it. */
export async function ownedMicro(ctx: ApiContext, request: FastifyRequest, id: string): Promise<Micro> {
  const user = currentUser(request);
  const micro = await ctx.store.micros.byId(id);
  if (!micro) {
    throw new MicrosError(
      "ERR_MICRO_NOT_FOUND",
      `No micro has the id ${id}. If its folder was copied from elsewhere, run \`micros clone\` to fetch it again.`,
      {
        details: { id },
      },
    );
  }
  if ((await ctx.store.projects.byId(micro.projectId))?.ownerId !== user.id) {
    throw new MicrosError("ERR_FORBIDDEN", `The micro ${id} belongs to another user.`);
  }
  return micro;
}

export async function describeMicro(ctx: ApiContext, micro: Micro): Promise<MicroView> {
  const project = await ctx.store.projects.byId(micro.projectId);
  if (!project) throw new MicrosError("ERR_INTERNAL", `The micro ${micro.id} has no project.`);
  // One round of reads at once: against PostgreSQL each is a round trip.
  const [domains, release, envVars, schedule, releases] = await Promise.all([
    ctx.customDomains.list(micro),
    micro.currentReleaseId ? ctx.store.releases.byId(micro.currentReleaseId) : undefined,
    ctx.store.envVars.names(micro.id),
    ctx.store.schedules.get(micro.id),
    ctx.store.releases.list(micro.id),
  ]);
  const versions = new Map(releases.map((kept) => [kept.id, kept.version]));
  return microView({
    micro,
    project,
    endpoint: ctx.endpointFor(micro.subdomain),
    domains,
    sandbox: ctx.sandbox,
    limits: ctx.limits.effective(micro.limits),
    release,
    envVars,
    instances: ctx.instances.list(micro.id),
    startFailures: ctx.instances.startFailures(micro.id),
    schedule,
    releaseVersion: (releaseId) => versions.get(releaseId),
  });
}
