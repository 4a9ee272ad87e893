/**
 * The page of a project's bases or drives: where it is, the project's tabs, and a picker of one base or drive (the
 * first, unless another is chosen) whose contents the page shows below it.
 */
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { Pending, Section, useLoad } from "./components";
import { Link } from "./router";

export function ProjectDataPage<T extends { name: string }>(props: {
  project: string;
  /** "base" or "drive". */
  noun: string;
  load: () => Promise<T[]>;
  /** What the page says while the project has none. */
  empty: string;
  /** What an item's button says. */
  label: (item: T) => ComponentChildren;
  /** The chosen one's contents; `reload` reads the list again (after a change to the counts). */
  children: (name: string, reload: () => void) => ComponentChildren;
}) {
  const { project, noun } = props;
  const title = `${noun.charAt(0).toUpperCase()}${noun.slice(1)}`;
  const [loaded, reload] = useLoad(props.load, project);
  const [chosen, setChosen] = useState<string>();
  document.title = `${project} ${title} · Micros`;
  return (
    <>
      <p class="breadcrumb">
        <Link href="/">Micros</Link> / {project}
      </p>
      <div class="page-head">
        <h1>
          {project}: {title}
        </h1>
      </div>
      <nav class="tabs" aria-label="Project">
        <Link href={`/projects/${encodeURIComponent(project)}/base`}>Base</Link>
        <Link href={`/projects/${encodeURIComponent(project)}/drive`}>Drive</Link>
      </nav>
      <Section title={`${title}s`}>
        <Pending loaded={loaded}>
          {(items) => {
            const current = chosen ?? items[0]?.name;
            return (
              <>
                {items.length === 0 && <p class="muted">{props.empty}</p>}
                <NamePicker
                  noun={noun}
                  title={title}
                  items={items}
                  label={props.label}
                  current={current}
                  onChoose={setChosen}
                />
                {current && props.children(current, reload)}
              </>
            );
          }}
        </Pending>
      </Section>
    </>
  );
}

/** A button for each of the project's bases (or drives), and a form to open one by name. */
function NamePicker<T extends { name: string }>(props: {
  noun: string;
  title: string;
  items: T[];
  /** What an item's button says. */
  label: (item: T) => ComponentChildren;
  current: string | undefined;
  onChoose: (name: string) => void;
}) {
  const { noun, current } = props;
  const [typed, setTyped] = useState("");
  return (
    <div class="inline">
      {props.items.map((item) => (
        <button
          key={item.name}
          type="button"
          class={item.name === current ? "" : "secondary"}
          aria-pressed={item.name === current}
          onClick={() => props.onChoose(item.name)}
        >
          {props.label(item)}
        </button>
      ))}
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          if (typed.trim()) props.onChoose(typed.trim());
          setTyped("");
        }}
      >
        <input
          aria-label={`${props.title} name`}
          placeholder={`another ${noun}`}
          value={typed}
          onInput={(event) => setTyped(event.currentTarget.value)}
        />
        <button type="submit" class="secondary" disabled={!typed.trim()}>
          Open
        </button>
      </form>
    </div>
  );
}
