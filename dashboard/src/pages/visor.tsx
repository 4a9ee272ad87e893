import { useState } from "preact/hooks";
import type { MicroView } from "../api";
import { BodyView } from "../body-view";
import { ErrorNote, Pending, Section, useAction, useLoad } from "../components";
import { dataApi, type ReplayView, type RequestView } from "../data-api";
import { ago, bytes, localTime } from "../format";
import { MicroPageFrame } from "../micro-head";
import type { PageProps } from "../routes";

/** New requests show up within this long while the tab is visible. */
const REFRESH_MS = 1000;
const SHOWN_REQUESTS = 100;

/** The visor: a micro's requests as they arrive, each one's detail, and replaying it. */
export function VisorPage(props: PageProps) {
  const id = props.params.id ?? "";
  return (
    <MicroPageFrame id={id} title="visor">
      {(micro, reload) => <Visor micro={micro} onChange={reload} />}
    </MicroPageFrame>
  );
}

function Visor(props: { micro: MicroView; onChange: () => void }) {
  const { micro } = props;
  const [loaded] = useLoad(() => dataApi.requests(micro.id, SHOWN_REQUESTS), micro.id, REFRESH_MS);
  const [selected, setSelected] = useState<number>();
  const action = useAction();
  const toggle = () =>
    action.run(() => dataApi.setVisor(micro.id, !micro.visor)).then((done) => done && props.onChange());
  return (
    <>
      <section class="card" aria-label="Recording">
        <p class="inline">
          <span data-testid="visor-recording">
            {micro.visor ? "Bodies and request headers are recorded." : "Only each request's summary is recorded."}
          </span>
          <button type="button" class="secondary" disabled={action.busy} onClick={toggle}>
            {micro.visor ? "Stop recording bodies" : "Record bodies"}
          </button>
        </p>
        <ErrorNote error={action.error} />
      </section>
      <Section title="Requests">
        <Pending loaded={loaded}>
          {(requests) =>
            requests.length === 0 ? (
              <p class="muted">No requests yet: open the micro's endpoint.</p>
            ) : (
              <table class="list requests">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Request</th>
                    <th class="num">Status</th>
                    <th class="num">Duration</th>
                    <th>Start</th>
                  </tr>
                </thead>
                <tbody>
                  {[...requests].reverse().map((request) => (
                    <tr
                      key={request.id}
                      data-request={request.id}
                      class={request.id === selected ? "selected" : undefined}
                    >
                      <td class="nowrap muted" title={localTime(request.time)}>
                        {ago(request.time)}
                      </td>
                      <td>
                        <button type="button" class="link" onClick={() => setSelected(request.id)}>
                          <span class="mono">{request.method}</span> <span class="mono">{request.path}</span>
                        </button>
                      </td>
                      <td class={`num ${request.status >= 500 ? "bad-text" : ""}`}>{request.status}</td>
                      <td class="num">{request.durationMs} ms</td>
                      <td>
                        <StartOf request={request} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Pending>
      </Section>
      {selected !== undefined && <RequestDetail key={selected} micro={micro} rid={selected} />}
    </>
  );
}

/** Cold or warm; for a cold start, where its time went. */
function StartOf(props: { request: RequestView }) {
  const { cold, timings } = props.request;
  const phases: [string, number | undefined][] = [
    ["sandbox", timings?.sandboxMs],
    ["code", timings?.codeMs],
    ["load", timings?.loadMs],
    ["first byte", timings?.firstByteMs],
  ];
  return (
    <span class="phases">
      <span class={`badge ${cold ? "cold" : "good"}`}>{cold ? "cold" : "warm"}</span>
      {cold &&
        phases
          .filter(([, ms]) => ms !== undefined)
          .map(([name, ms]) => (
            <span key={name} class="phase" data-phase={name}>
              {name} {ms} ms
            </span>
          ))}
    </span>
  );
}

function RequestDetail(props: { micro: MicroView; rid: number }) {
  const { micro, rid } = props;
  const [loaded] = useLoad(() => dataApi.request(micro.id, rid), `${micro.id}:${rid}`);
  const [replayed, setReplayed] = useState<ReplayView>();
  const action = useAction();
  const replay = () => action.run(async () => setReplayed(await dataApi.replay(micro.id, rid)));
  return (
    <Section title="Request" id="request-detail">
      <Pending loaded={loaded}>
        {(request) => (
          <>
            <p>
              <strong class="mono">
                {request.method} {request.path}
              </strong>{" "}
              <span class="muted">
                {localTime(request.time)} · {request.status} in {request.durationMs} ms · {bytes(request.requestBytes)}{" "}
                in, {bytes(request.responseBytes)} out · instance {request.instance ?? "none"}
                {request.client ? ` · from ${request.client}` : ""}
              </span>
            </p>
            <p>
              <StartOf request={request} />
            </p>
            <h3>Request headers</h3>
            {request.requestHeaders ? (
              <table class="headers">
                <tbody>
                  {request.requestHeaders.map(([name, value], index) => (
                    // Headers repeat; their order is what was sent.
                    <tr key={index}>
                      <td class="mono nowrap">{name}</td>
                      <td class="mono">{value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">Not recorded: turn on "Record bodies" to keep them.</p>
            )}
            <h3>Request body</h3>
            <BodyView base64={request.requestBytes === 0 ? (request.requestBody ?? "") : request.requestBody} />
            <p class="inline">
              <button type="button" disabled={action.busy} onClick={replay}>
                Replay
              </button>
              <span class="muted">sends the same request to the micro again</span>
            </p>
            <ErrorNote error={action.error} />
            <div class="split">
              <section aria-label="Recorded answer">
                <h3>Recorded answer: {request.status}</h3>
                <BodyView base64={request.responseBody} testId="recorded-body" />
              </section>
              {replayed && (
                <section aria-label="Replayed answer">
                  <h3 data-testid="replay-status">Replayed answer: {replayed.status}</h3>
                  <BodyView base64={replayed.body} testId="replay-body" />
                </section>
              )}
            </div>
          </>
        )}
      </Pending>
    </Section>
  );
}
