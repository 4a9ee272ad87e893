import { MicrosError } from "../../shared/errors.js";
import type { DataService } from "../data/data-service.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LogSink } from "../logs/log-sink.js";
import type { ProjectKeys } from "../project-keys.js";
import type { Deployer } from "../releases/deployer.js";
import type { Store } from "../store/store.js";
import type { User } from "../store/users.js";

export interface UserRemoval {
  store: Store;
  instances: InstanceManager;
  logs: LogSink;
  deployer: Deployer;
  projectKeys: ProjectKeys;
  data: DataService;
}

/**
 * Deletes a user with everything they own, on behalf of `caller` (an admin). The user's tokens, projects and micros
 * go in one statement, so from then on their tokens open nothing and their micros are not found at their endpoints
 * (the gateway's lookup is emptied by the same delete), nor their project keys anything; then their instances are
 * stopped, in-flight requests or not, and their releases, build caches and their projects' Base and Drive data
 * leave the disk.
 * Nobody may delete themselves, so a server always keeps an admin.
 */
export async function removeUser(
  parts: UserRemoval,
  caller: User,
  name: string,
): Promise<{ user: User; projects: number; micros: number }> {
  const { store } = parts;
  const user = await store.users.byName(name);
  if (!user) {
    throw new MicrosError("ERR_USER_NOT_FOUND", `There is no user named ${name}. \`micros users list\` lists them.`);
  }
  if (user.id === caller.id) {
    const last = user.isAdmin && (await store.users.admins()) === 1;
    throw new MicrosError(
      "ERR_FORBIDDEN",
      last
        ? `You cannot delete yourself: ${name} is the last admin, and the server needs one to manage its users.`
        : `You cannot delete yourself: another admin can delete ${name}.`,
    );
  }
  const [projects, micros] = await Promise.all([store.projects.list(user.id), store.micros.listByOwner(user.id)]);
  // Nothing more of theirs is logged: the rows it would go to are about to be deleted.
  for (const micro of micros) parts.logs.forget(micro.id);
  await store.users.delete(user.id);
  for (const project of projects) parts.projectKeys.forget(project.id);
  await Promise.all(micros.map((micro) => parts.instances.stopAll(micro.id)));
  await Promise.all(micros.map((micro) => parts.deployer.removeAll(micro.id)));
  await parts.deployer.removeOwner(user.id);
  for (const project of projects) await parts.data.removeProject(project.id);
  return { user, projects: projects.length, micros: micros.length };
}
