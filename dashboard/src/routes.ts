/**
 * Every page of the dashboard, by path. A page is a component in pages/<page>.tsx that gets the path's parameters.
 * The server answers index.html for `/`, `/micros`, `/micros/<id>`, `/micros/<id>/<page>` and
 * `/projects/<id>/<page>` (src/server/dashboard/static-files.ts): a page elsewhere needs a pattern there too.
 */
import type { ComponentType } from "preact";
import { BasePage } from "./pages/base";
import { DrivePage } from "./pages/drive";
import { LogsPage } from "./pages/logs";
import { MicroPage } from "./pages/micro";
import { MicrosPage } from "./pages/micros";
import { VisorPage } from "./pages/visor";

export interface PageProps {
  params: Readonly<Record<string, string>>;
}

export interface PageRoute {
  path: string;
  page: ComponentType<PageProps>;
}

export const ROUTES: readonly PageRoute[] = [
  { path: "/", page: MicrosPage },
  { path: "/micros", page: MicrosPage },
  { path: "/micros/:id", page: MicroPage },
  { path: "/micros/:id/logs", page: LogsPage },
  { path: "/micros/:id/visor", page: VisorPage },
  { path: "/projects/:id/base", page: BasePage },
  { path: "/projects/:id/drive", page: DrivePage },
];
