// Placeholder until this screen is built (issue 13, in progress).
export function MethodPage(_props: { apiId: string; resourceId: string; verb: string }) {
  return (
    <section><h1>MethodPage</h1><p>Being built (issue 13).</p></section>
  );
}
