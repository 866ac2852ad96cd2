// Placeholder until this screen is built (issue 13, in progress).
export function FleetPage() {
  return (
    <section><h1>FleetPage</h1><p>Being built (issue 13).</p></section>
  );
}
