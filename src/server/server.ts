import { chmod, mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { Duplex } from "node:stream";
import { destination, pino } from "pino";
import { ensureAdmin } from "./admin-token.js";
import { buildApi } from "./api/app.js";
import type { ServerConfig } from "./config.js";
import { Scheduler } from "./cron/scheduler.js";
import { createAccessCheck } from "./gateway/access.js";
import { createGateway } from "./gateway/gateway.js";
import { routeForHost } from "./gateway/host-routing.js";
import { createUpgradeHandler } from "./gateway/upgrade.js";
import { createExecutor } from "./instances/executors/choose.js";
import { Dispatcher } from "./instances/dispatcher.js";
import { invoke } from "./instances/invoke.js";
import { InstanceManager } from "./instances/manager.js";
import { LimitPolicy } from "./limits.js";
import { LogSink } from "./logs/log-sink.js";
import { ProjectKeys } from "./project-keys.js";
import { Deployer, releaseDir } from "./releases/deployer.js";
import { RuntimeRegistry } from "./runtimes/registry.js";
import { Secrets } from "./secrets.js";
import { Store } from "./store/store.js";
import { RequestLog } from "./visor/request-log.js";

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  adminTokenFile: string;
  adminTokenCreated: boolean;
  executor: string;
  close(): Promise<void>;
}

/** Wires the parts together and starts listening: one port for the control API and every micro. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  // Others may pass through (a sandboxed instance binds its release from here) but not list or read.
  await chmod(dataDir, 0o711);
  // The daemon's own structured logs go to stderr; stdout is for what the operator is told.
  const logger = pino({ level: config.logLevel, base: undefined }, destination(2));
  const store = Store.open(join(dataDir, "micros.db"));
  const admin = await ensureAdmin(store, dataDir);
  const secrets = await Secrets.load(dataDir);
  const projectKeys = new ProjectKeys(store.projects, secrets);

  const limits = new LimitPolicy(config);
  const executor = await createExecutor(config, dataDir, (runtime, err) =>
    logger.warn({ runtime, err }, "could not prepare a sandbox ahead of need; instances will be started on demand"),
  );
  await executor.cleanup();
  const runtimes = await RuntimeRegistry.install(dataDir, { python: config.python });
  executor.prewarm(
    runtimes
      .list()
      .map((runtime) => ({ runtime: runtime.id, runtimeDir: runtime.runnerDir, command: runtime.command })),
  );
  const logs = new LogSink(store.logs);
  const instances = new InstanceManager({
    executor,
    runtimes,
    logs,
    operator: logger,
    releaseDir: (microId, releaseId) => releaseDir(dataDir, microId, releaseId),
    projectKey: (projectId) => projectKeys.keyFor(projectId),
    userEnv: (microId) =>
      Object.fromEntries(store.envVars.sealed(microId).map(({ key, value }) => [key, secrets.open(value)])),
    idleTimeoutMs: config.idleTimeoutMs,
    startTimeoutMs: config.startTimeoutMs,
    stopGraceMs: config.stopGraceMs,
    drainTimeoutMs: config.drainTimeoutMs,
    instanceConcurrency: config.instanceConcurrency,
    maxInstances: config.maxInstances,
    limits,
  });
  const deployer = new Deployer({ ...config, store, runtimes, instances, logs, dataDir });
  await deployer.cleanup();
  // The only way anything reaches an instance: the gateway, WebSockets, run, cron and visor replays.
  const dispatcher = new Dispatcher(instances);
  const scheduler = new Scheduler({
    store,
    logs,
    operator: logger,
    fire: (micro, expression, signal) =>
      invoke(
        dispatcher,
        micro,
        { type: "cron", action: "", body: { schedule: expression } },
        { timeoutMs: limits.effective(micro.limits).timeoutMs, signal },
      ),
  });
  scheduler.start();
  const visor = new RequestLog(store.requests);
  const gatewayOptions = {
    micros: store.micros,
    dispatcher,
    logs,
    operator: logger,
    limits,
    access: createAccessCheck(store),
    visor,
  };
  const gateway = createGateway(gatewayOptions);
  const upgrade = createUpgradeHandler(gatewayOptions);

  let port = config.port;
  const endpointFor = (subdomain: string) => `http://${subdomain}.${config.domain}${port === 80 ? "" : `:${port}`}`;
  const api = buildApi(
    {
      store,
      runtimes,
      instances,
      dispatcher,
      deployer,
      logs,
      secrets,
      projectKeys,
      sandbox: executor.name,
      limits,
      scheduler,
      visor,
      endpointFor,
    },
    logger,
    (handler) => {
      const server = createServer((req, res) => {
        const route = routeForHost(req.headers.host, config.domain);
        if (route.kind === "micro") gateway(req, res, route.subdomain);
        else handler(req, res);
      });
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const route = routeForHost(req.headers.host, config.domain);
        if (route.kind === "micro") upgrade(req, socket, head, route.subdomain);
        else socket.destroy();
      });
      return server;
    },
  );
  await api.listen({ port: config.port, host: config.host });
  port = (api.server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host}:${port}`,
    port,
    dataDir,
    adminTokenFile: admin.file,
    adminTokenCreated: admin.created,
    executor: executor.name,
    close: () => {
      closing ??= (async () => {
        scheduler.stop();
        const listening = api.close();
        await instances.close();
        await executor.close();
        api.server.closeAllConnections();
        await listening;
        logs.flush();
        visor.flush();
        store.close();
      })();
      return closing;
    },
  };
}
