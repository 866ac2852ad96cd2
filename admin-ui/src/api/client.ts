// The admin API's clients, over gRPC-web on the control plane's own origin.
// Every call carries the signed-in token as `authorization: Bearer`, the
// same header and roles as archwayctl and any gRPC client.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import {
  AdminTokenService,
  DeploymentService,
  FleetService,
  IamService,
  RestApiService,
  UsagePlanService,
} from "../gen/archway/v1/admin_pb";
import { ConfigurationService } from "../gen/archway/v1/configuration_pb";

export interface Clients {
  apis: Client<typeof RestApiService>;
  deployments: Client<typeof DeploymentService>;
  plans: Client<typeof UsagePlanService>;
  tokens: Client<typeof AdminTokenService>;
  iam: Client<typeof IamService>;
  fleet: Client<typeof FleetService>;
  configuration: Client<typeof ConfigurationService>;
}

/**
 * `onRejected` hears of a call refused as UNAUTHENTICATED: the token was
 * deleted (or the store replaced) while the tab was open, and every later
 * call, polls included, would fail the same way.
 */
export function makeClients(
  token: string,
  onRejected: (message: string) => void = () => {},
  baseUrl: string = location.origin,
): Clients {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.Unauthenticated) onRejected(e.rawMessage);
      throw err;
    }
  };
  const transport = createGrpcWebTransport({
    baseUrl,
    interceptors: [bearer],
    // Binary protobuf: the server speaks application/grpc-web+proto.
    useBinaryFormat: true,
  });
  return {
    apis: createClient(RestApiService, transport),
    deployments: createClient(DeploymentService, transport),
    plans: createClient(UsagePlanService, transport),
    tokens: createClient(AdminTokenService, transport),
    iam: createClient(IamService, transport),
    fleet: createClient(FleetService, transport),
    configuration: createClient(ConfigurationService, transport),
  };
}

/** Every page of a List* call, bounded so a misbehaving server cannot loop us forever. */
export async function allPages<T>(
  page: (token: string) => Promise<{ items: T[]; nextPageToken: string }>,
  maxPages = 1000,
): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  for (let i = 0; i < maxPages; i++) {
    const res = await page(token);
    items.push(...res.items);
    if (!res.nextPageToken || res.nextPageToken === token) return items;
    token = res.nextPageToken;
  }
  throw new Error(`more than ${maxPages} pages`);
}
