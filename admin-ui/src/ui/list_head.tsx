// The head of a `table.list`: a column header for each name (scope=col, for
// screen readers) and, last, the row-actions column, named for screen
// readers only. Every list screen spelled this out in full.
export function ListHead({ columns, actions = true }: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th scope="col" key={c}>
            {c}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}
