import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { loadServerConfig, SETTINGS, settingList } from "../../src/server/config.js";
import { preferredBlock } from "../../src/server/sandbox/server-block.js";
import { MicrosError } from "../../src/shared/errors.js";
import {
  type Container,
  KUBERNETES_DIR,
  type Manifest,
  nodeContainer,
  objectNamed,
  readManifests,
  type StatefulSet,
} from "../helpers/kubernetes.js";
import { ROOT } from "../helpers/micros.js";

const DOCS = join(ROOT, "docs", "kubernetes.md");

interface Secret extends Manifest {
  stringData: Record<string, string>;
}
interface Service extends Manifest {
  spec: { ports: { name: string; port: number; targetPort: string }[] };
}
interface Ingress extends Manifest {
  spec: {
    rules: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
  };
}

/** The server's variables, and what `micros server` takes as flags. */
const VARIABLES = new Set(["MICROS_CONFIG", ...settingList().map(([, setting]) => setting.env)]);
const FLAGS = new Set(["config", ...settingList().map(([, setting]) => setting.flag)]);
/** The CLI's own variables, which the docs use to reach a node. */
const CLI_VARIABLES = new Set(["MICROS_HOST", "MICROS_ACCESS_TOKEN"]);

const variablesIn = (text: string) => [...text.matchAll(/MICROS_[A-Z0-9_]+/g)].map((match) => match[0]);
const flagsIn = (text: string) =>
  [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((match) => match[1] as string);

/** Kubernetes' $(NAME) expansion in an env value, from the variables defined before it. */
function expand(value: string, defined: Map<string, string>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => defined.get(name) ?? whole);
}

const POD_IP = "10.1.2.3";

describe("deploy/kubernetes", () => {
  let files: string[];
  let byFile: Map<string, unknown[]>;
  let objects: Manifest[];
  let statefulSet: StatefulSet;
  let container: Container;
  let secret: Secret;
  /** The container's environment as the pod gets it, with the Secret's values given. */
  const podEnv = (secretValues: Record<string, string>): NodeJS.ProcessEnv => {
    const defined = new Map<string, string>();
    for (const variable of container.env) {
      if (variable.valueFrom?.fieldRef?.fieldPath === "status.podIP") defined.set(variable.name, POD_IP);
      else if (variable.value !== undefined) defined.set(variable.name, expand(variable.value, defined));
      else assert.fail(`${variable.name} has neither a value nor the pod's IP`);
    }
    return { ...Object.fromEntries(defined), ...secretValues };
  };
  const load = (secretValues: Record<string, string> = {}) =>
    loadServerConfig({ flags: {}, cwd: "/", env: podEnv(secretValues) });

  before(() => {
    ({ files, byFile, objects } = readManifests());
    statefulSet = objectNamed<StatefulSet>(objects, "StatefulSet", "micros");
    container = nodeContainer(objects);
    secret = objectNamed<Secret>(objects, "Secret", "micros");
  });

  it("kustomization.yaml lists every manifest in the folder", async () => {
    const manifests = (await readdir(KUBERNETES_DIR)).filter(
      (name) => name.endsWith(".yaml") && name !== "kustomization.yaml",
    );
    assert.deepEqual([...files].sort(), manifests.sort());
    for (const [file, documents] of byFile) assert.ok(documents.length > 0, `${file} holds no object`);
  });

  it("puts everything in the micros namespace", () => {
    assert.equal(objectNamed(objects, "Namespace", "micros").metadata.name, "micros");
    for (const object of objects.filter((object) => object.kind !== "Namespace")) {
      assert.equal(object.metadata.namespace, "micros", `${object.kind} ${object.metadata.name}`);
    }
  });

  it("names only variables and flags that `micros server` has (the docs may name the CLI's too)", async () => {
    for (const name of await readdir(KUBERNETES_DIR)) {
      const text = await readFile(join(KUBERNETES_DIR, name), "utf8");
      for (const variable of variablesIn(text)) assert.ok(VARIABLES.has(variable), `${variable} in ${name}`);
      if (name.endsWith(".yaml")) for (const flag of flagsIn(text)) assert.ok(FLAGS.has(flag), `--${flag} in ${name}`);
    }
    for (const variable of variablesIn(await readFile(DOCS, "utf8"))) {
      assert.ok(VARIABLES.has(variable) || CLI_VARIABLES.has(variable), `${variable} in docs/kubernetes.md`);
    }
    for (const variable of Object.keys(secret.stringData)) assert.ok(VARIABLES.has(variable), `${variable} in secret`);
    // Any other variable of the container only feeds a MICROS_ one.
    const values = container.env.map((variable) => variable.value ?? "").join("\n");
    for (const { name } of container.env.filter((variable) => !VARIABLES.has(variable.name))) {
      assert.ok(values.includes(`$(${name})`), `${name} is neither a setting nor used by one`);
    }
  });

  it("gives each node the settings a cluster needs, which the server accepts", async () => {
    const config = await load({
      MICROS_CLUSTER_SECRET: "s".repeat(40),
      MICROS_DATABASE: "postgres://micros:password@db.example:5432/micros",
    });
    const http = container.ports.find((port) => port.name === "http");
    assert.equal(config.port, http?.containerPort);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.nodeAddress, `http://${POD_IP}:${config.port}`);
    assert.ok(config.clusterSecret);
    assert.match(config.database, /^postgres:\/\//);
    assert.deepEqual(
      container.envFrom.map((source) => source.secretRef.name),
      [secret.metadata.name],
    );
    const data = container.volumeMounts.find((mount) => mount.mountPath === config.dataDir);
    assert.ok(data, "the data dir is a mounted volume");
    assert.deepEqual(
      statefulSet.spec.volumeClaimTemplates.map((claim) => claim.metadata.name),
      [data.name],
    );
  });

  it("ships placeholders the server refuses, so a forgotten one stops the pod", async () => {
    const refusal = await load(secret.stringData).then(
      () => assert.fail("the placeholders were accepted"),
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof MicrosError && refusal.code === "ERR_INVALID_SETTING", String(refusal));
    assert.match(refusal.message, /MICROS_CLUSTER_SECRET/);
    assert.match(refusal.message, /MICROS_DATABASE/);
  });

  it("probes the nodes' port, and gives a stop time for the pause before SIGTERM and the instances' grace", () => {
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
      assert.ok(
        container.ports.some(({ name }) => name === port),
        `a probe of port ${port}`,
      );
    }
    // A restart would not bring the database back (test/e2e/kubernetes-probes.test.ts shows why it matters).
    assert.ok(container.livenessProbe.tcpSocket && !container.livenessProbe.httpGet);
    const [sleep, seconds] = container.lifecycle.preStop.exec.command;
    assert.equal(sleep, "sleep");
    // Beyond both, time to remove the sandboxes and flush the logs.
    const teardownMs = 30_000;
    assert.ok(
      statefulSet.spec.template.spec.terminationGracePeriodSeconds * 1000 >=
        Number(seconds) * 1000 + SETTINGS.stopGraceMs.default + teardownMs,
    );
  });

  it("leads the Service and the Ingress to the nodes' port, on the server's domain", async () => {
    const config = await load();
    const service = objectNamed<Service>(objects, "Service", "micros");
    const ports = new Set(container.ports.map((port) => port.name));
    for (const port of service.spec.ports) assert.ok(ports.has(port.targetPort), `Service port ${port.name}`);
    const ingress = objectNamed<Ingress>(objects, "Ingress", "micros");
    assert.deepEqual(
      ingress.spec.rules.map((rule) => rule.host),
      [config.domain, `*.${config.domain}`],
    );
    const servicePorts = new Set(service.spec.ports.map((port) => port.name));
    for (const { backend } of ingress.spec.rules.flatMap((rule) => rule.http.paths)) {
      assert.equal(backend.service.name, service.metadata.name);
      assert.ok(servicePorts.has(backend.service.port.name), `Ingress to port ${backend.service.port.name}`);
    }
  });

  it("docs/kubernetes.md names the sandboxes' subnet that the nodes' data dir gives", async () => {
    const subnet = `10.${100 + preferredBlock((await load()).dataDir)}.0.0/16`;
    assert.ok((await readFile(DOCS, "utf8")).includes(subnet), `docs/kubernetes.md names ${subnet}`);
  });
});
