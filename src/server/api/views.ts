import type { InstanceView, LogView, MicroView, ProjectView, ReleaseView } from "../../shared/api.js";
import type { DomainView } from "../../shared/domains.js";
import type { InstanceInfo } from "../instances/manager.js";
import type { StartFailures } from "../instances/start-backoff.js";
import type { MicroLimits } from "../limits.js";
import type { LogLine } from "../store/logs.js";
import type { Micro } from "../store/micros.js";
import type { Project } from "../store/projects.js";
import type { Release } from "../store/releases.js";
import type { ScheduleRow } from "../store/schedules.js";

const iso = (ms: number) => new Date(ms).toISOString();
/** A schedule stored before rates were bounded may run past what a Date holds: "never", not a failed listing. */
const nextRunTime = (ms: number) => (Number.isNaN(new Date(ms).getTime()) ? "never" : iso(ms));
const MB = 1024 * 1024;

export function projectView(project: Project): ProjectView {
  return { id: project.id, name: project.name, createdAt: iso(project.createdAt) };
}

export function releaseView(release: Release, currentId: string | null): ReleaseView {
  return {
    id: release.id,
    version: release.version,
    createdAt: iso(release.createdAt),
    codeBytes: release.codeBytes,
    fileCount: release.fileCount,
    install: release.install,
    current: release.id === currentId,
  };
}

export function logView(line: LogLine): LogView {
  return { id: line.id, time: iso(line.ts), source: line.source, instance: line.instanceId, message: line.message };
}

export function microView(input: {
  micro: Micro;
  project: Project;
  endpoint: string;
  domains: DomainView[];
  sandbox: string;
  limits: MicroLimits;
  release: Release | undefined;
  envVars: string[];
  instances: InstanceInfo[];
  startFailures: StartFailures | undefined;
  schedule: ScheduleRow | undefined;
  releaseVersion: (releaseId: string) => number | undefined;
}): MicroView {
  const { micro } = input;
  const instances: InstanceView[] = input.instances.map((instance) => ({
    id: instance.id,
    state: instance.state,
    release: `v${input.releaseVersion(instance.releaseId) ?? "?"}`,
    startedAt: iso(instance.startedAt),
    inFlight: instance.inFlight,
  }));
  return {
    id: micro.id,
    name: micro.name,
    project: input.project.name,
    runtime: micro.runtime,
    subdomain: micro.subdomain,
    endpoint: input.endpoint,
    domains: input.domains,
    httpAuth: micro.httpAuth,
    sandbox: input.sandbox,
    limits: {
      memoryMb: input.limits.memoryBytes / MB,
      timeoutSeconds: input.limits.timeoutMs / 1000,
      requestBodyMb: input.limits.requestBodyBytes / MB,
    },
    release: input.release ? releaseView(input.release, micro.currentReleaseId) : null,
    envVars: input.envVars,
    instances,
    visor: micro.visor,
    cron: input.schedule
      ? {
          expression: input.schedule.expression,
          nextRun: nextRunTime(input.schedule.nextRunAt),
          lastRun: input.schedule.lastRunAt === null ? null : iso(input.schedule.lastRunAt),
        }
      : null,
    startFailures: input.startFailures
      ? {
          count: input.startFailures.count,
          lastError: input.startFailures.lastError.message,
          retryAt: iso(input.startFailures.retryAt),
        }
      : null,
    createdAt: iso(micro.createdAt),
  };
}
