import type { DataServiceName } from "./data-service.js";

/** Operations on one item, and on a drive's files, by method. */
const BASE_ITEM_OPS: Record<string, string> = { GET: "get", DELETE: "delete", PATCH: "update" };
const DRIVE_FILES_OPS: Record<string, string> = { GET: "list", POST: "put", DELETE: "delete" };

/**
 * The operation a Base or Drive request asks for, named as the metrics count it (docs/api.md, Metrics): the same
 * routes `base-routes.ts` and `drive-routes.ts` serve, and `other` for a method or path none of them does.
 */
export function dataOperation(service: DataServiceName, method: string, rest: readonly string[]): string {
  const [resource, id, sub] = rest;
  if (service === "base") {
    if (resource === "query") return id === undefined && method === "POST" ? "query" : "other";
    if (resource !== "items") return "other";
    if (id === undefined) return method === "PUT" ? "put" : method === "POST" ? "insert" : "other";
    return BASE_ITEM_OPS[method] ?? "other";
  }
  if (resource === "files") {
    if (id === undefined) return DRIVE_FILES_OPS[method] ?? "other";
    return id === "download" && sub === undefined && (method === "GET" || method === "HEAD") ? "get" : "other";
  }
  if (resource !== "uploads") return "other";
  if (id === undefined) return method === "POST" ? "upload_start" : "other";
  if (sub === "parts") return method === "POST" ? "upload_part" : "other";
  if (sub !== undefined) return "other";
  return method === "PATCH" ? "upload_complete" : method === "DELETE" ? "upload_abort" : "other";
}
