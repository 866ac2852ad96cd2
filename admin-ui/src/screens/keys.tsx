// Placeholder until this screen is built (issue 13, in progress).
export function KeysPage() {
  return (
    <section><h1>KeysPage</h1><p>Being built (issue 13).</p></section>
  );
}
