// Fleet: every data-plane node, the version it applied and was sent, when it
// was last heard from and its last refusal, polled every 2 s. Nodes behind
// the control plane's version come first, marked with a text badge saying
// why. Built for 50+ nodes: rows are keyed by node id and memoised on what
// they show, so a poll patches only the rows whose node changed, and only
// the "last seen" cells tick each second (one shared timer).
import { Component } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { allPages } from "../api/client";
import type { NodeStatus } from "../gen/archway/v1/admin_pb";
import { type FleetRow, fleetRows, matches, sameNode, summarize } from "../logic/fleet";
import { useSession } from "../ui/context";
import { ListFilter, useFiltered } from "../ui/list_filter";
import { ListHead } from "../ui/list_head";
import { Failure, PageHeader } from "../ui/form";
import { EXACT_TIME, ago } from "../ui/format";
import { usePolledLoad } from "../ui/hooks";

const POLL_MS = 2000;

interface Fleet {
  configVersion: bigint;
  nodes: NodeStatus[];
}

export function FleetPage() {
  const { clients } = useSession();
  const fleet = usePolledLoad<Fleet>(async () => {
    // Every page carries the version; the last page's is the newest.
    let configVersion = 0n;
    const nodes = await allPages(async (pageToken) => {
      const page = await clients.fleet.listNodes({ pageSize: 500, pageToken });
      configVersion = page.configVersion;
      return { items: page.nodes, nextPageToken: page.nextPageToken };
    });
    return { configVersion, nodes };
  }, [clients], POLL_MS);

  const rows = useMemo(
    () => (fleet.data ? fleetRows(fleet.data.nodes, fleet.data.configVersion) : []),
    [fleet.data],
  );
  const { filter, setFilter, shown } = useFiltered(rows, matches);
  const counts = useMemo(() => summarize(rows), [rows]);
  const version = fleet.data?.configVersion;

  return (
    <section aria-label="Fleet">
      <PageHeader title="Fleet" />
      <dl class="fleet-summary">
        <div>
          <dt>Control plane version</dt>
          <dd data-testid="config-version">{version === undefined ? "…" : String(version)}</dd>
        </div>
        <div>
          <dt>Nodes</dt>
          <dd data-testid="count-nodes">{fleet.data ? counts.nodes : "…"}</dd>
        </div>
        <div>
          <dt>Current</dt>
          <dd data-testid="count-current">{fleet.data ? counts.current : "…"}</dd>
        </div>
        <div class={counts.behind > 0 ? "attention" : undefined}>
          <dt>Behind</dt>
          <dd data-testid="count-behind">{fleet.data ? counts.behind : "…"}</dd>
        </div>
      </dl>
      <p class="muted fleet-note">
        Updated every 2 s while this tab is visible. A node is behind when it is disconnected, has applied
        an older version, or refused the current one.
      </p>
      <ListFilter id="fleet-filter" placeholder="node, build, address, behind…" filter={filter} onFilter={setFilter}>
        {fleet.data ? `${shown.length} of ${rows.length} nodes shown` : fleet.loading ? "Loading…" : ""}
      </ListFilter>
      {fleet.error && (
        <>
          <Failure failure={fleet.error} />
          {fleet.data && <p class="muted">Showing the last answer; retrying every 2 s.</p>}
        </>
      )}
      {fleet.data && rows.length === 0 && (
        <p>No data-plane node has connected to this control plane in the last day.</p>
      )}
      {rows.length > 0 && (
        <table class="list fleet" aria-label="Nodes">
          <ListHead
            columns={[
              "Node",
              "Status",
              "Applied",
              "Sent",
              "Connected",
              "Last seen",
              "Last refusal (NACK)",
              "Build",
              "Peer address",
            ]}
            actions={false}
          />
          <tbody>
            {shown.map((row) => (
              <NodeRow key={row.node.nodeId} row={row} configVersion={version ?? 0n} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface RowProps {
  row: FleetRow<NodeStatus>;
  configVersion: bigint;
}

// Re-rendered only when the node's answer or the control plane's version
// changed; the standing is derived from exactly those. (A class for
// shouldComponentUpdate: preact/compat's memo would bring compat's global
// React-emulation hooks into the whole app.)
class NodeRow extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps): boolean {
    return next.configVersion !== this.props.configVersion || !sameNode(next.row.node, this.props.row.node);
  }

  render({ row }: RowProps) {
    const n = row.node;
    const { behind, reasons } = row.standing;
    return (
      <tr data-testid={`node-${n.nodeId}`} class={behind ? "behind" : undefined}>
        <th scope="row" data-col="node">
          <code>{n.nodeId}</code>
        </th>
        <td data-col="status">
          {behind ? (
            reasons.map((r) => (
              <span class="badge bad" key={r} title={r}>
                {r}
              </span>
            ))
          ) : (
            <span class="badge good">current</span>
          )}
        </td>
        <td data-col="applied" class="num">
          {String(n.appliedVersion)}
        </td>
        <td data-col="sent" class="num">
          {String(n.sentVersion)}
        </td>
        <td data-col="connected">{n.connected ? "yes" : "no"}</td>
        <td data-col="seen" class="num">
          <Ago ms={n.lastSeenMs} />
        </td>
        <td data-col="nack">
          {n.lastError ? (
            <>
              <span class="num">v{String(n.lastErrorVersion)}</span> {n.lastError}
            </>
          ) : (
            <span class="muted">none</span>
          )}
        </td>
        <td data-col="build">{n.build}</td>
        <td data-col="peer">
          <code>{n.peerAddress}</code>
        </td>
      </tr>
    );
  }
}

/** "12 s ago", kept fresh by one timer shared by every cell; the exact time in a tooltip. */
function Ago({ ms }: { ms: bigint }) {
  const now = useSecondClock();
  const [iso, title] = useMemo(() => {
    const d = new Date(Number(ms));
    return ms > 0n ? [d.toISOString(), EXACT_TIME.format(d)] : [undefined, "never"];
  }, [ms]);
  return (
    <time dateTime={iso} title={title}>
      {ago(ms, now)}
    </time>
  );
}

// One interval for all "ago" cells, started with the first and stopped
// with the last; skipped while the tab is hidden.
const clockListeners = new Set<(now: number) => void>();
let clockTimer: ReturnType<typeof setInterval> | undefined;

function useSecondClock(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    clockListeners.add(setNow);
    if (clockListeners.size === 1) {
      clockTimer = setInterval(() => {
        if (document.visibilityState !== "visible") return;
        const t = Date.now();
        for (const l of clockListeners) l(t);
      }, 1000);
    }
    return () => {
      clockListeners.delete(setNow);
      if (clockListeners.size === 0) {
        clearInterval(clockTimer);
        clockTimer = undefined;
      }
    };
  }, []);
  return now;
}
