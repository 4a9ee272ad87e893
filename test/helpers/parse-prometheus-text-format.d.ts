/** The package ships no types: the shapes it returns, as its README describes them. */
declare module "parse-prometheus-text-format" {
  export interface Sample {
    labels?: Record<string, string>;
    /** A counter's, gauge's or untyped metric's value. */
    value?: string;
    /** A histogram's cumulative counts by upper bound (`le`), its count and its sum. */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }

  export interface MetricFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: Sample[];
  }

  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
