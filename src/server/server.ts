import { type IncomingMessage, type RequestListener, ServerResponse } from "node:http";
import { totalmem } from "node:os";
import type { Duplex } from "node:stream";
import { destination, pino } from "pino";
import { MicrosError, toMicrosError } from "../shared/errors.js";
import { ensureAdmin } from "./admin-token.js";
import { buildApi } from "./api/app.js";
import { openSharedBlobs } from "./blobs/open-shared-blobs.js";
import { Cluster } from "./cluster/cluster.js";
import { nodeId } from "./cluster/node-id.js";
import { sharedSecrets } from "./cluster/sealing-key.js";
import type { ServerConfig } from "./config.js";
import { Scheduler } from "./cron/scheduler.js";
import { loadDashboard } from "./dashboard/static-files.js";
import { DataService, dataRoute } from "./data/data-service.js";
import { serveToSandboxes } from "./data/sandbox-endpoint.js";
import { prepareDataDir } from "./data-dir.js";
import { CustomDomains } from "./domains/custom-domains.js";
import { Endpoints } from "./domains/endpoints.js";
import { createAccessCheck } from "./gateway/access.js";
import { createGateway } from "./gateway/gateway.js";
import { type Route, routeForHost } from "./gateway/host-routing.js";
import { sendError } from "./gateway/proxy.js";
import type { Client } from "./gateway/trusted-proxy.js";
import { clientResolver } from "./gateway/trusted-proxy.js";
import { createUpgradeHandler } from "./gateway/upgrade.js";
import { listenFirst } from "./http-listener.js";
import { Dispatcher } from "./instances/dispatcher.js";
import { createIsolation } from "./instances/executors/choose.js";
import { invoke } from "./instances/invoke.js";
import { InstanceManager } from "./instances/manager.js";
import { LimitPolicy } from "./limits.js";
import { LogSink } from "./logs/log-sink.js";
import { isMetricsRequest, listenForMetrics, metricsBehindToken } from "./metrics/exposure.js";
import { Metrics } from "./metrics/metrics.js";
import { ProjectKeys } from "./project-keys.js";
import { Deployer } from "./releases/deployer.js";
import { LocalReleaseFiles, type ReleaseFiles } from "./releases/release-files.js";
import { SharedReleaseFiles } from "./releases/shared-release-files.js";
import { RuntimeRegistry } from "./runtimes/registry.js";
import { Secrets } from "./secrets.js";
import { isPostgresUrl } from "./store/database-url.js";
import type { Micro } from "./store/micros.js";
import { openStore } from "./store/store.js";
import { openAcme } from "./tls/acme-certificates.js";
import { listenHttps } from "./tls/https-listener.js";
import { RequestLog } from "./visor/request-log.js";

/** How often a node sweeps what releases no longer name (with PostgreSQL). */
const SWEEP_MS = 15 * 60 * 1000;

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  adminTokenFile: string;
  adminTokenCreated: boolean;
  executor: string;
  /** Where HTTPS is served (--https-port), when it is. */
  httpsUrl: string | undefined;
  /** Where `--metrics-listen` serves the metrics, when it is given. */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the server: one port for the control API and every micro. A start that fails (the port is taken, the
 * sandbox cannot be made) closes what it had started, last first, so nothing is left running or behind.
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const started: (() => unknown)[] = [];
  try {
    return await start(config, started);
  } catch (err) {
    for (const close of started.reverse()) {
      try {
        await close();
      } catch {
        // The start's own error is the one to report.
      }
    }
    throw err;
  }
}

/** Wires the parts together; `started` gets the close of each part as it starts. */
async function start(config: ServerConfig, started: (() => unknown)[]): Promise<RunningServer> {
  checkClusterSettings(config);
  const dataDir = await prepareDataDir(config.dataDir);
  // The port before anything else: a port in use fails here, before a sandbox is made.
  const listener = await listenFirst(config.port, config.host);
  started.push(() => {
    const closed = listener.close();
    listener.server.closeAllConnections();
    return closed;
  });
  // The daemon's own structured logs go to stderr; stdout is for what the operator is told.
  const logger = pino({ level: config.logLevel, base: undefined }, destination(2));
  // HTTPS on --https-port beside HTTP, with certificate files and/or ACME's: the port before the rest starts too.
  const https = await listenHttps(config, logger);
  if (https) started.push(() => https.close());
  const metrics = new Metrics();
  const metricsListener = config.metricsListen
    ? await listenForMetrics(metrics, config.metricsListen, logger)
    : undefined;
  if (metricsListener) started.push(() => metricsListener.close());
  const store = await openStore({ database: config.database, dataDir });
  started.push(() => store.close());
  const acme = config.acmeEmail
    ? await openAcme(config.acmeDirectory, config.acmeEmail, dataDir, store.domains, logger)
    : undefined;
  if (acme) started.push(() => acme.close());
  if (acme) https?.useSource(acme);
  const admin = await ensureAdmin(store, dataDir);
  // The nodes of a cluster seal with one key, kept in the database under the cluster secret.
  const secrets =
    config.clusterSecret && store.shared
      ? await sharedSecrets(await Secrets.localKey(dataDir), config.clusterSecret, store.shared.nodes)
      : await Secrets.load(dataDir);
  // Joined last, once this node serves: the others send it requests as soon as it is in the pool.
  let cluster: Cluster | undefined;
  const projectKeys = new ProjectKeys(store.projects, secrets);
  // Bytes every server on a PostgreSQL store can read (releases, Drive's files); none with SQLite.
  const blobs = await openSharedBlobs(store, dataDir);
  // Deta Base and Drive for the projects' micros and their owners: /base/... and /drive/... on this host.
  const data = await DataService.open({
    dataDir,
    store,
    blobs,
    projectOf: (key) => projectKeys.projectOf(key),
    driveQuotaBytes: config.driveQuotaBytes,
    operator: logger,
    metrics,
  });
  started.push(() => data.close());

  const limits = new LimitPolicy(config);
  const { executor, builds, services } = await createIsolation(config, dataDir, (runtime, err) =>
    logger.warn({ runtime, err }, "could not prepare a sandbox ahead of need; instances will be started on demand"),
  );
  started.push(() => executor.close());
  // Base and Drive at database.deta.sh and drive.deta.sh, as micros' unmodified SDKs call them (HTTPS).
  const forSandboxes =
    services && (await serveToSandboxes(services.files, services, (req, res) => data.handle(req, res)));
  if (forSandboxes) started.push(() => forSandboxes.close());
  await executor.cleanup();
  const runtimes = await RuntimeRegistry.install(dataDir, { python: config.python });
  executor.prewarm(
    runtimes
      .list()
      .map((runtime) => ({ runtime: runtime.id, runtimeDir: runtime.runnerDir, command: runtime.command })),
  );
  // A cluster's nodes tell each other of the log lines they store, for followers on other nodes.
  const logs = new LogSink(
    store.logs,
    config.clusterSecret ? (microIds) => cluster?.announceLogs(microIds) : undefined,
  );
  // With PostgreSQL, any node may start a release another built: each is packed into a blob every node can fetch.
  const sharedFiles =
    blobs &&
    new SharedReleaseFiles({
      dataDir,
      blobs,
      releases: store.releases,
      runtimes,
      maxCodeBytes: config.maxCodeBytes,
    });
  const releaseFiles: ReleaseFiles = sharedFiles ?? new LocalReleaseFiles(dataDir);
  const instances = new InstanceManager({
    executor,
    runtimes,
    logs,
    operator: logger,
    releaseDir: (micro, releaseId) => releaseFiles.ready(micro, releaseId),
    projectKey: (projectId) => projectKeys.keyFor(projectId),
    userEnv: async (microId) =>
      Object.fromEntries((await store.envVars.sealed(microId)).map(({ key, value }) => [key, secrets.open(value)])),
    idleTimeoutMs: config.idleTimeoutMs,
    startTimeoutMs: config.startTimeoutMs,
    stopGraceMs: config.stopGraceMs,
    drainTimeoutMs: config.drainTimeoutMs,
    instanceConcurrency: config.instanceConcurrency,
    maxInstances: config.maxInstances,
    limits,
    metrics,
    announceRetire: (microId) => cluster?.announceRetire(microId),
  });
  metrics.observe({ instances: () => instances.census(), warmPool: () => executor.warmPool?.() ?? [] });
  const deployer = new Deployer({
    ...config,
    store,
    runtimes,
    instances,
    logs,
    operator: logger,
    builds,
    files: releaseFiles,
    dataDir,
    metrics,
  });
  started.push(() => instances.close());
  started.push(() => deployer.close());
  await deployer.cleanup();
  // What no release names any more goes, in time: blobs from the database, and this node's copies of releases pruned
  // or deleted by other nodes. Every node sweeps; the deletes are the same whoever runs them.
  const sweeps =
    blobs &&
    sharedFiles &&
    setInterval(async () => {
      try {
        await sharedFiles.sweep();
        await blobs.sweep();
      } catch (err) {
        logger.warn({ err }, "could not sweep releases and blobs no longer kept; the next sweep tries again");
      }
    }, SWEEP_MS).unref();
  if (sweeps) started.push(() => clearInterval(sweeps));
  // The only way anything reaches an instance: the gateway, WebSockets, run, cron and visor replays.
  const dispatcher = new Dispatcher(instances);
  const scheduler = new Scheduler({
    store,
    logs,
    operator: logger,
    graceFor: (microId) => (cluster && !cluster.runsHere(microId) ? CRON_GRACE_ELSEWHERE_MS : 0),
    fire: (micro, expression, signal) =>
      invoke(
        dispatcher,
        micro,
        { type: "cron", action: "", body: { schedule: expression } },
        { timeoutMs: limits.effective(micro.limits).timeoutMs, signal },
      ),
  });
  scheduler.start();
  started.push(() => scheduler.stop());
  const visor = new RequestLog(store.requests);
  const clientOfPeer = clientResolver(config.trustProxy);
  // A request another node forwarded comes from the client that node names (the signature vouches for it).
  const clientOf = (req: IncomingMessage): Client => cluster?.forwardedClient(req) ?? clientOfPeer(req);
  const gatewayOptions = {
    micros: store.micros,
    dispatcher,
    logs,
    operator: logger,
    limits,
    access: createAccessCheck(store),
    visor,
    metrics,
    clientOf,
    elsewhere: {
      request: (req: IncomingMessage, res: ServerResponse, micro: Micro) =>
        cluster ? cluster.forward(req, res, micro, clientOf(req)) : Promise.resolve(false),
      upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, micro: Micro) =>
        cluster ? cluster.forwardUpgrade(req, socket, head, micro, clientOf(req)) : Promise.resolve(false),
    },
  };
  const gateway = createGateway(gatewayOptions);
  const upgrade = createUpgradeHandler(gatewayOptions);

  const dashboard = await loadDashboard();
  const port = listener.port;
  const endpoints = new Endpoints({
    domain: config.domain,
    httpPort: port,
    httpsPort: https?.listener.port,
    subdomainsOverHttps: https?.files !== undefined,
  });
  const endpointFor = (subdomain: string) => endpoints.forSubdomain(subdomain);
  let apiHandler: RequestListener = () => {};
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
      data,
      sandbox: executor.name,
      limits,
      scheduler,
      visor,
      endpointFor,
      clientOf,
      customDomains: new CustomDomains(store.domains, config.domain, endpoints, acme),
      nodes: async () => cluster?.nodes(),
    },
    logger,
    (handler) => {
      apiHandler = handler;
      return listener.server;
    },
  );
  await api.ready();
  // Only on the platform's host, never a micro's: a micro's own /metrics is the app's.
  const scrape = config.metricsToken ? metricsBehindToken(metrics, config.metricsToken, logger) : undefined;
  /**
   * Where a request goes, by its Host. Custom domains come from the store (answered from memory until they change);
   * should it fail, the connection gets a 500 or is closed, and undefined says it has been dealt with.
   */
  const routeFor = async (host: string | undefined, to: ServerResponse | Duplex): Promise<Route | undefined> => {
    try {
      const customDomains = await store.domains.routes();
      return routeForHost(host, config.domain, (name) => customDomains.get(name));
    } catch (err) {
      logger.error({ err }, "the store failed while routing a request");
      if (to instanceof ServerResponse) sendError(to, toMicrosError(err));
      else to.destroy();
      return undefined;
    }
  };
  // HTTP and HTTPS serve the same: the control plane, micros and custom domains alike.
  const serve: typeof listener.serve = (onRequest, onUpgrade) => {
    listener.serve(onRequest, onUpgrade);
    https?.listener.serve(onRequest, onUpgrade);
  };
  serve(
    async (req, res) => {
      // ACME's HTTP-01 challenges, on whatever host the CA asks for.
      if (acme?.answerChallenge(req, res)) return;
      if (cluster && !cluster.admit(req, res)) return;
      const route = await routeFor(req.headers.host, res);
      if (!route) return;
      if (route.kind === "micro") await gateway(req, res, route.subdomain);
      else if (scrape && isMetricsRequest(req)) scrape(req, res);
      else {
        const mounted = dataRoute(req.url);
        if (mounted) data.handle(req, res, mounted.path, mounted.service);
        else if (dashboard.handles(req)) dashboard.serve(req, res);
        else apiHandler(req, res);
      }
    },
    async (req, socket, head) => {
      if (cluster && !cluster.admit(req, socket)) return;
      const route = await routeFor(req.headers.host, socket);
      if (route?.kind === "micro") await upgrade(req, socket, head, route.subdomain);
      else socket.destroy();
    },
  );

  if (config.clusterSecret && store.shared) {
    cluster = await Cluster.join({
      store: store.shared,
      secret: config.clusterSecret,
      self: {
        id: await nodeId(dataDir),
        address: config.nodeAddress || nodeAddressOf(config.host, port),
        capacity: Math.max(1, Math.floor(totalmem() / config.memoryBytes)),
      },
      operator: logger,
      metrics,
    });
    started.push(() => cluster?.close());
    cluster.listen({
      retire: (microId) => instances.retire(microId, { announce: false }),
      retireAll: () => instances.retireAll(),
      forgetProjectKey: (projectId) => projectKeys.forget(projectId),
      logsWritten: (microIds) => logs.othersWrote(microIds),
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host}:${port}`,
    port,
    dataDir,
    adminTokenFile: admin.file,
    adminTokenCreated: admin.created,
    executor: executor.name,
    httpsUrl: https && `https://${config.host}:${https.listener.port}`,
    metricsUrl: metricsListener?.url,
    close: () => {
      closing ??= (async () => {
        // Out of the pool first, so the other nodes stop sending requests here.
        await cluster?.close();
        scheduler.stop();
        clearInterval(sweeps);
        const listening = Promise.all([api.close(), listener.close(), https?.close()]);
        await instances.close();
        await forSandboxes?.close();
        // Builds first: they use the executor's cgroups, network and run folder.
        await deployer.close();
        await executor.close();
        api.server.closeAllConnections();
        https?.listener.server.closeAllConnections();
        await acme?.close();
        await listening;
        await metricsListener?.close();
        await logs.flush();
        await visor.flush();
        data.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** How long a node that does not run a micro leaves a due cron run to the node that does. */
const CRON_GRACE_ELSEWHERE_MS = 2000;

/** Settings a cluster needs together, refused before anything starts. */
function checkClusterSettings(config: ServerConfig): void {
  if (!config.clusterSecret) return;
  if (!isPostgresUrl(config.database)) {
    throw new MicrosError(
      "ERR_INVALID_SETTING",
      "--cluster-secret needs --database postgres://...: the nodes of a cluster share their state through PostgreSQL.",
    );
  }
  if (!config.nodeAddress && (config.host === "0.0.0.0" || config.host === "::")) {
    throw new MicrosError(
      "ERR_INVALID_SETTING",
      `--host ${config.host} listens on every interface, so the other nodes cannot be told which address reaches this one: give --node-address, such as http://10.0.0.5:${config.port || 4000}.`,
    );
  }
}

/** Where the other nodes reach this one, when --node-address does not say: the address it listens on. */
function nodeAddressOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
