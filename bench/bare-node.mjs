// Baseline for the cold-start benchmark: the same app, bare on the host, as `node index.js` with a
// listen() would run it: load the module, serve it on a port. Usage: node bare-node.mjs <app dir> <entry> <port>
import { createServer } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, entry, port] = process.argv.slice(2);
const module = await import(pathToFileURL(join(dir, entry)).href);
let app = module.default ?? module;
if (typeof app.ready === "function" && typeof app.routing === "function") {
  await app.ready();
  const fastify = app;
  app = (req, res) => fastify.routing(req, res);
}
createServer(app).listen(Number(port), "127.0.0.1");
