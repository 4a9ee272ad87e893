/**
 * Writes runtimes/python/protocol.json from the one definition in runtimes/node/protocol.mts (`npm run
 * runtimes:protocol`): the Python runner is plain Python, shipped as it is, and reads the constants from there.
 */
import { writeFile } from "node:fs/promises";
import { PROTOCOL } from "../../../runtimes/node/protocol.mjs";

await writeFile(
  new URL("../../../runtimes/python/protocol.json", import.meta.url),
  `${JSON.stringify(PROTOCOL, null, 2)}\n`,
);
