// Placeholder until this screen is built (issue 13, in progress).
export function AuthorizersPage(_props: { apiId: string }) {
  return (
    <section><h1>AuthorizersPage</h1><p>Being built (issue 13).</p></section>
  );
}
