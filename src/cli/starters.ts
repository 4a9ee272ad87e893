/** The app `micros new --node` or `--python` writes into an empty folder: no dependencies, ready to deploy. */
export const STARTERS: Record<"node" | "python", Record<string, string>> = {
  node: {
    "index.js": `// Your micro: export a request handler (or an express, koa, fastify or hono app) and deploy with \`micros deploy\`.
module.exports = (req, res) => {
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.end(\`Hello from \${process.env.MICROS_MICRO_NAME}!\\n\`);
};
`,
  },
  python: {
    "main.py": `# Your micro: a module-level \`app\` (here a plain WSGI function; FastAPI or Flask work too).
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello from {os.environ.get('MICROS_MICRO_NAME')}!\\n".encode()]
`,
  },
};
