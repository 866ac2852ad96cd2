// Placeholder until this screen is built (issue 13, in progress).
export function ImportPage() {
  return (
    <section><h1>ImportPage</h1><p>Being built (issue 13).</p></section>
  );
}
