import type {
  ApiKeyView,
  LogView,
  MicroView,
  NodeView,
  ProjectView,
  ReleaseView,
  RequestView,
  TokenView,
  UserListView,
  UserView,
} from "../shared/api.js";
import type { DomainView } from "../shared/domains.js";
import { type ErrorBody, isErrorCode, MicrosError } from "../shared/errors.js";
import type { Credentials } from "./credentials.js";
import { type DeployProgress, deployWithProgress } from "./deploy-request.js";

/** A thin client for the control API: every failure becomes a MicrosError with the server's code. */
export class ApiClient {
  constructor(private readonly credentials: Credentials) {}

  get host(): string {
    return this.credentials.host;
  }

  whoami() {
    return this.json<{ user: UserView }>("GET", "/v1/whoami");
  }

  listUsers() {
    return this.json<{ users: UserListView[] }>("GET", "/v1/users");
  }

  createUser(name: string, admin: boolean) {
    return this.json<{ user: UserView; token: string }>("POST", "/v1/users", { name, admin });
  }

  deleteUser(name: string) {
    return this.json<{ user: UserView; projects: number; micros: number }>(
      "DELETE",
      `/v1/users/${encodeURIComponent(name)}`,
    );
  }

  /** A token for another user (admin only); `token` is the token itself, in this answer only. */
  issueUserToken(user: string, body: { name: string; expires?: string }) {
    return this.json<{ token: string; info: TokenView }>("POST", `/v1/users/${encodeURIComponent(user)}/tokens`, body);
  }

  listNodes() {
    return this.json<{ cluster: boolean; nodes: NodeView[] }>("GET", "/v1/nodes");
  }

  listTokens() {
    return this.json<{ tokens: TokenView[] }>("GET", "/v1/tokens");
  }

  createToken(body: { name: string; expires?: string }) {
    return this.json<{ token: string; info: TokenView }>("POST", "/v1/tokens", body);
  }

  revokeToken(name: string) {
    return this.request("DELETE", `/v1/tokens/${encodeURIComponent(name)}`);
  }

  listMicros() {
    return this.json<{ micros: MicroView[] }>("GET", "/v1/micros");
  }

  createMicro(body: { name: string; project: string; runtime: string }) {
    return this.json<{ micro: MicroView }>("POST", "/v1/micros", body);
  }

  getMicro(id: string) {
    return this.json<{ micro: MicroView }>("GET", `/v1/micros/${encodeURIComponent(id)}`);
  }

  listDomains(id: string) {
    return this.json<{ domains: DomainView[] }>("GET", `/v1/micros/${encodeURIComponent(id)}/domains`);
  }

  addDomain(id: string, host: string) {
    return this.json<{ domain: DomainView }>("POST", `/v1/micros/${encodeURIComponent(id)}/domains`, { host });
  }

  removeDomain(id: string, host: string) {
    return this.request("DELETE", `/v1/micros/${encodeURIComponent(id)}/domains/${encodeURIComponent(host)}`);
  }

  setVisor(id: string, enabled: boolean) {
    return this.json<{ micro: MicroView }>("PATCH", `/v1/micros/${encodeURIComponent(id)}/visor`, { enabled });
  }

  listRequests(id: string, limit: number) {
    return this.json<{ requests: RequestView[] }>(
      "GET",
      `/v1/micros/${encodeURIComponent(id)}/requests?limit=${limit}`,
    );
  }

  getRequest(id: string, requestId: string) {
    return this.json<{ request: RequestView }>(
      "GET",
      `/v1/micros/${encodeURIComponent(id)}/requests/${encodeURIComponent(requestId)}`,
    );
  }

  replayRequest(id: string, requestId: string) {
    return this.json<{ status: number; headers: [string, string][]; body: string }>(
      "POST",
      `/v1/micros/${encodeURIComponent(id)}/requests/${encodeURIComponent(requestId)}/replay`,
      {},
    );
  }

  setCron(id: string, expression: string) {
    return this.json<{ micro: MicroView }>("PUT", `/v1/micros/${encodeURIComponent(id)}/cron`, { expression });
  }

  removeCron(id: string) {
    return this.request("DELETE", `/v1/micros/${encodeURIComponent(id)}/cron`);
  }

  triggerCron(id: string) {
    return this.json<{ ok: boolean; durationMs: number; result?: unknown; error?: string }>(
      "POST",
      `/v1/micros/${encodeURIComponent(id)}/cron/trigger`,
      {},
    );
  }

  runAction(id: string, action: string, args: Record<string, unknown>) {
    return this.json<{ result: unknown; logs: string[] }>("POST", `/v1/micros/${encodeURIComponent(id)}/run`, {
      action,
      args,
    });
  }

  setHttpAuth(id: string, enabled: boolean) {
    return this.json<{ micro: MicroView }>("PATCH", `/v1/micros/${encodeURIComponent(id)}/auth`, { enabled });
  }

  createApiKey(id: string, name: string, description: string) {
    return this.json<{ apiKey: ApiKeyView & { key: string } }>(
      "POST",
      `/v1/micros/${encodeURIComponent(id)}/api-keys`,
      {
        name,
        description,
      },
    );
  }

  listApiKeys(id: string) {
    return this.json<{ apiKeys: ApiKeyView[] }>("GET", `/v1/micros/${encodeURIComponent(id)}/api-keys`);
  }

  deleteApiKey(id: string, name: string) {
    return this.request("DELETE", `/v1/micros/${encodeURIComponent(id)}/api-keys/${encodeURIComponent(name)}`);
  }

  updateMicro(id: string, body: { name?: string; runtime?: string }) {
    return this.json<{ micro: MicroView }>("PATCH", `/v1/micros/${encodeURIComponent(id)}`, body);
  }

  updateLimits(
    id: string,
    body: { memoryMb?: number | null; timeoutSeconds?: number | null; requestBodyMb?: number | null },
  ) {
    return this.json<{ micro: MicroView }>("PATCH", `/v1/micros/${encodeURIComponent(id)}/limits`, body);
  }

  async downloadCode(id: string): Promise<Buffer> {
    const response = await this.request("GET", `/v1/micros/${encodeURIComponent(id)}/releases/current/archive`);
    return Buffer.from(await response.arrayBuffer());
  }

  findMicro(name: string, project: string) {
    const query = new URLSearchParams({ name, project });
    return this.json<{ micros: MicroView[] }>("GET", `/v1/micros?${query}`);
  }

  currentFiles(id: string) {
    return this.json<{ release: string; files: Record<string, string> }>(
      "GET",
      `/v1/micros/${encodeURIComponent(id)}/releases/current/files`,
    );
  }

  listReleases(id: string) {
    return this.json<{ releases: ReleaseView[] }>("GET", `/v1/micros/${encodeURIComponent(id)}/releases`);
  }

  rollback(id: string, release: string | undefined) {
    return this.json<{ micro: MicroView }>(
      "POST",
      `/v1/micros/${encodeURIComponent(id)}/rollback`,
      release ? { release } : {},
    );
  }

  replaceEnv(id: string, vars: Record<string, string>) {
    return this.json<{ envVars: string[] }>("PUT", `/v1/micros/${encodeURIComponent(id)}/env`, { vars });
  }

  deleteMicro(id: string) {
    return this.request("DELETE", `/v1/micros/${encodeURIComponent(id)}`);
  }

  listProjects() {
    return this.json<{ projects: ProjectView[] }>("GET", "/v1/projects");
  }

  rotateProjectKey(name: string) {
    return this.json<{ project: ProjectView }>("POST", `/v1/projects/${encodeURIComponent(name)}/rotate-key`, {});
  }

  createProject(name: string) {
    return this.json<{ project: ProjectView }>("POST", "/v1/projects", { name });
  }

  /** `fresh`: install the dependencies from scratch (`micros deploy purge-dependencies`). */
  deploy(id: string, archive: Buffer, progress: DeployProgress, { fresh = false }: { fresh?: boolean } = {}) {
    return deployWithProgress(this.credentials.host, this.credentials.token, id, archive, progress, fresh);
  }

  logs(id: string, query: { since?: string; limit?: number }) {
    const params = new URLSearchParams();
    if (query.since) params.set("since", query.since);
    if (query.limit) params.set("limit", String(query.limit));
    return this.json<{ logs: LogView[] }>("GET", `/v1/micros/${encodeURIComponent(id)}/logs?${params}`);
  }

  /** Streams log lines as they are written, until the server or the signal ends it. */
  async *followLogs(id: string, query: { since?: string }, signal: AbortSignal): AsyncGenerator<LogView> {
    const params = new URLSearchParams({ follow: "true" });
    if (query.since) params.set("since", query.since);
    const response = await this.request(
      "GET",
      `/v1/micros/${encodeURIComponent(id)}/logs?${params}`,
      undefined,
      signal,
    );
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield JSON.parse(line) as LogView;
        newline = buffered.indexOf("\n");
      }
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body);
    return (await response.json()) as T;
  }

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.credentials.token}` };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(`${this.credentials.host}${path}`, { method, headers, body: payload, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new MicrosError(
        "ERR_SERVER_UNREACHABLE",
        `Could not reach the Micros server at ${this.credentials.host} (${cause?.code ?? cause?.message ?? (err as Error).message}). Is \`micros server\` running there? The host comes from \`micros login\` or MICROS_HOST.`,
        { cause: err },
      );
    }
    if (response.ok) return response;
    throw await errorFrom(response);
  }
}

async function errorFrom(response: Response): Promise<MicrosError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    if (error && isErrorCode(error.code)) {
      return new MicrosError(error.code, error.message, error.details ? { details: error.details } : {});
    }
  } catch {
    // Not our JSON shape: something else answered (a proxy, another server).
  }
  return new MicrosError(
    "ERR_SERVER_UNREACHABLE",
    `The server answered ${response.status} ${response.statusText} with something that is not a Micros API response: ${text.slice(0, 200)}`,
  );
}
