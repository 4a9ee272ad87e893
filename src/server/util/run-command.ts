import { spawn } from "node:child_process";

export interface CommandResult {
  exitCode: number | null;
  /** stdout and stderr interleaved as they arrived, tail-capped. */
  output: string;
  timedOut: boolean;
}

const OUTPUT_CAP = 256 * 1024;

/** Runs a tool (npm, pip) to completion with an argument array, capturing its output. */
export function runCommand(
  file: string,
  args: string[],
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    timeoutMs: number;
    input?: string;
    /** Called with the output as it comes, for showing progress. */
    onOutput?: (text: string) => void;
  },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    let output = "";
    const collect = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      options.onOutput?.(text);
      output += text;
      if (output.length > OUTPUT_CAP * 2) output = output.slice(-OUTPUT_CAP);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      resolve({ exitCode: null, output: `${output}${err.message}\n`, timedOut });
    });
    child.once("close", (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output: output.slice(-OUTPUT_CAP), timedOut });
    });
  });
}
