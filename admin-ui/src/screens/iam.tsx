// Placeholder until this screen is built (issue 13, in progress).
export function IamPage() {
  return (
    <section><h1>IamPage</h1><p>Being built (issue 13).</p></section>
  );
}
