// Placeholder until this screen is built (issue 13, in progress).
export function TokensPage() {
  return (
    <section><h1>TokensPage</h1><p>Being built (issue 13).</p></section>
  );
}
