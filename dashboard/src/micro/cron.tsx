import { useState } from "preact/hooks";
import { api, type MicroView } from "../api";
import { ErrorNote, Section, useAction } from "../components";
import { ago } from "../format";

/** The micro's one schedule (UTC), and running its handler now to try it. */
export function CronSection(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  const [expression, setExpression] = useState("");
  const [outcome, setOutcome] = useState<string>();
  const action = useAction();
  const set = (event: Event) => {
    event.preventDefault();
    void action
      .run(() => api.setCron(micro.id, expression.trim()))
      .then((done) => {
        if (!done) return;
        setExpression("");
        props.onChange();
      });
  };
  const remove = () => action.run(() => api.removeCron(micro.id)).then((done) => done && props.onChange());
  const runNow = () =>
    action.run(async () => {
      setOutcome(undefined);
      const run = await api.runCron(micro.id);
      // Shown as text: whatever the handler returned is the micro's, never markup.
      setOutcome(
        `${run.ok ? "ok" : "failed"} in ${run.durationMs} ms\n${JSON.stringify(run.ok ? run.result : run.error, null, 2) ?? ""}`,
      );
    });
  return (
    <Section title="Cron" id="cron">
      {micro.cron ? (
        <>
          <p>
            <code data-testid="cron-expression">{micro.cron.expression}</code> (UTC) · next run{" "}
            {micro.cron.nextRun === "never" ? "never" : ago(micro.cron.nextRun)}
            {micro.cron.lastRun && ` · last run ${ago(micro.cron.lastRun)}`}
          </p>
          <div class="inline">
            <button type="button" disabled={action.busy} onClick={runNow}>
              Run now
            </button>{" "}
            <button type="button" class="secondary" disabled={action.busy} onClick={remove}>
              Remove schedule
            </button>
          </div>
        </>
      ) : (
        <p class="muted">No schedule.</p>
      )}
      <form class="inline" onSubmit={set}>
        <input
          aria-label="Schedule"
          placeholder="5 minutes, or 0 12 * * *"
          value={expression}
          onInput={(event) => setExpression(event.currentTarget.value)}
          required
        />
        <button type="submit" disabled={action.busy || !expression.trim()}>
          {micro.cron ? "Change" : "Set schedule"}
        </button>
      </form>
      {outcome !== undefined && <pre data-testid="cron-outcome">{outcome}</pre>}
      <ErrorNote error={action.error} />
    </Section>
  );
}
