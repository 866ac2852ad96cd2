// A secret the server returns once (an API key's value, an IAM secret access
// key): shown in the answer's screen with a Copy button, kept only in the
// component state of that screen, so it is gone on reload or navigation.
import type { ComponentChildren } from "preact";
import { useRef, useState } from "preact/hooks";

interface ShownOnceProps {
  /** What the value is, e.g. "API key value". */
  label: string;
  value: string;
  testId?: string;
  /** Said before the value: whose secret it is. */
  children?: ComponentChildren;
  onDone?: () => void;
}

export function ShownOnce({ label, value, testId, children, onDone }: ShownOnceProps) {
  const code = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<string | null>(null);

  const selectText = () => {
    const el = code.current;
    const sel = getSelection();
    if (!el || !sel) return;
    const range = document.createRange();
    range.selectNodeContents(el);
    sel.removeAllRanges();
    sel.addRange(range);
  };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied.");
    } catch {
      // No clipboard (plain http on another host, or denied): select the
      // text so Ctrl+C copies it.
      selectText();
      setCopied("Selected: press Ctrl+C (⌘C) to copy.");
    }
  };

  return (
    <div class="secret" role="status" data-testid={testId}>
      <span>
        {children} <strong>{label}</strong> (shown only now; copy it before you leave this page):
      </span>
      <code ref={code}>{value}</code>
      <button type="button" onClick={copy}>
        Copy
      </button>
      {onDone && (
        <button type="button" class="secondary" onClick={onDone}>
          Done
        </button>
      )}
      {copied && <span class="muted">{copied}</span>}
    </div>
  );
}
