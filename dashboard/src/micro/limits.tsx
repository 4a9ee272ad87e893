import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api, type MicroView } from "../api";
import { ErrorNote, Section, useAction } from "../components";

type LimitName = "memoryMb" | "timeoutSeconds" | "requestBodyMb";

const FIELDS: { name: LimitName; label: string; step: string }[] = [
  { name: "memoryMb", label: "Memory (MB)", step: "1" },
  { name: "timeoutSeconds", label: "Timeout (s)", step: "any" },
  { name: "requestBodyMb", label: "Request body (MB)", step: "any" },
];

/** The limits the micro runs with; the server refuses more than its maximum and says which. */
export function LimitsSection(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  const [draft, setDraft] = useState<Partial<Record<LimitName, string>>>({});
  const action = useAction();
  const save = (event: Event) => {
    event.preventDefault();
    const change: Partial<Record<LimitName, number>> = {};
    for (const { name } of FIELDS) {
      const text = draft[name];
      if (text !== undefined && text.trim() !== "") change[name] = Number(text);
    }
    void action
      .run(() => api.setLimits(micro.id, change))
      .then((done) => {
        if (!done) return;
        setDraft({});
        props.onChange();
      });
  };
  return (
    <Section title="Limits" id="limits">
      <form onSubmit={save}>
        <dl class="facts">
          {FIELDS.map(({ name, label, step }) => (
            <Fragment key={name}>
              <dt>
                <label for={`limit-${name}`}>{label}</label>
              </dt>
              <dd>
                <input
                  id={`limit-${name}`}
                  type="number"
                  min="0"
                  step={step}
                  value={draft[name] ?? String(micro.limits[name])}
                  onInput={(event) => setDraft({ ...draft, [name]: event.currentTarget.value })}
                />
              </dd>
            </Fragment>
          ))}
        </dl>
        <p class="muted">A new memory limit applies to the next instance; the others to the next request.</p>
        <button type="submit" disabled={action.busy || Object.keys(draft).length === 0}>
          Save limits
        </button>
      </form>
      <ErrorNote error={action.error} />
    </Section>
  );
}
