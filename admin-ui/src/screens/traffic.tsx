// Placeholder until this screen is built (issue 13, in progress).
export function TrafficPage(_props: { apiId?: string; stage?: string }) {
  return (
    <section><h1>TrafficPage</h1><p>Being built (issue 13).</p></section>
  );
}
