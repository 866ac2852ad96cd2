// Placeholder until this screen is built (issue 13, in progress).
export function PlansPage(_props: { planId?: string }) {
  return (
    <section><h1>PlansPage</h1><p>Being built (issue 13).</p></section>
  );
}
