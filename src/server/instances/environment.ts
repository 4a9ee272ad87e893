import type { Micro } from "../store/micros.js";

/**
 * The whole environment an app sees: its own variables plus what the platform
 * sets. Nothing of the server's own environment leaks in. The DETA_* names let
 * apps written for Deta run unchanged.
 */
export function instanceEnvironment(
  micro: Micro,
  userEnv: Record<string, string>,
  projectKey: string,
): Record<string, string> {
  return {
    ...userEnv,
    MICROS_PROJECT_KEY: projectKey,
    DETA_PROJECT_KEY: projectKey,
    MICROS_MICRO_NAME: micro.name,
    MICROS_MICRO_ID: micro.id,
    MICROS_RUNTIME: micro.runtime,
    DETA_PATH: micro.subdomain,
    DETA_RUNTIME: "true",
  };
}
