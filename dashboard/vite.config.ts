import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The dashboard builds into dist/dashboard/, which the server serves at its own host (src/server/dashboard/). */
export default defineConfig({
  root: here("."),
  base: "/",
  plugins: [preact({ prefreshEnabled: false })],
  build: {
    outDir: here("../dist/dashboard"),
    emptyOutDir: true,
    // Every script is a file of this host's (the Content-Security-Policy allows no inline script).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
});
