// Placeholder until this screen is built (issue 13, in progress).
export function DeploymentsPage(_props: { apiId: string }) {
  return (
    <section><h1>DeploymentsPage</h1><p>Being built (issue 13).</p></section>
  );
}
