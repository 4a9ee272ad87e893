import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./micros.js";

/** The manifests in deploy/kubernetes/, as Kubernetes would read them. */
export const KUBERNETES_DIR = join(ROOT, "deploy", "kubernetes");
/** Debian's Python and its YAML module (python3-yaml): a YAML 1.1 reader, as Kubernetes' own is. */
const PYTHON = "/usr/bin/python3";

/** What the tests read of the objects; the manifests hold more. */
export interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
}
/** An HTTP probe asks a path on a named port; a TCP one only connects to the port. */
export interface Probe {
  httpGet?: { path: string; port: string };
  tcpSocket?: { port: string };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
export interface Container {
  ports: { name: string; containerPort: number }[];
  env: EnvVar[];
  envFrom: { secretRef: { name: string } }[];
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
  volumeMounts: { name: string; mountPath: string }[];
}
export interface StatefulSet extends Manifest {
  spec: {
    template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } };
    volumeClaimTemplates: { metadata: { name: string } }[];
  };
}

/** Every YAML document of each file (paths relative to KUBERNETES_DIR); a file that does not parse fails with why. */
export function readYaml(files: string[]): Map<string, unknown[]> {
  const script = [
    "import json, sys, yaml",
    "print(json.dumps({f: list(yaml.safe_load_all(open(f, encoding='utf-8'))) for f in sys.argv[1:]}))",
  ].join("\n");
  const run = spawnSync(PYTHON, ["-c", script, ...files], { cwd: KUBERNETES_DIR, encoding: "utf8" });
  if (run.error || run.status !== 0) {
    throw new Error(
      `${PYTHON} could not read ${files.join(", ")} (without its YAML module: apt-get install python3-yaml): ${run.error?.message ?? run.stderr}`,
    );
  }
  return new Map(Object.entries(JSON.parse(run.stdout) as Record<string, unknown[]>));
}

/** The files kustomization.yaml lists, and every object in them. */
export function readManifests(): { files: string[]; byFile: Map<string, unknown[]>; objects: Manifest[] } {
  const [kustomization] = readYaml(["kustomization.yaml"]).get("kustomization.yaml") ?? [];
  const files = (kustomization as { resources: string[] }).resources;
  const byFile = readYaml(files);
  return { files, byFile, objects: [...byFile.values()].flat() as Manifest[] };
}

/** The one object of this kind and name. */
export function objectNamed<T extends Manifest>(objects: Manifest[], kind: string, name: string): T {
  const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
  if (found.length !== 1) throw new Error(`the manifests hold ${found.length} ${kind} objects named ${name}, not one`);
  return found[0] as T;
}

/** The nodes' container, from the StatefulSet. */
export function nodeContainer(objects: Manifest[]): Container {
  const [container] = objectNamed<StatefulSet>(objects, "StatefulSet", "micros").spec.template.spec.containers;
  if (!container) throw new Error("the StatefulSet has no container");
  return container;
}
