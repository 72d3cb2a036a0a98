/** Authentication and authorization seams: standalone mode trusts everyone, a cluster delegates. */
import type { IncomingMessage } from 'node:http';
import type { UserInfo } from '../registry/rest.js';
import type { RequestInfo } from '../endpoints/request-info.js';

export type AuthenticationResult =
  | { readonly kind: 'authenticated'; readonly user: UserInfo }
  | { readonly kind: 'anonymous' }
  /** An authenticator failed (bad front-proxy cert, TokenReview error): 401. */
  | { readonly kind: 'error'; readonly message: string };

export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<AuthenticationResult>;
}

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export interface Authorizer {
  authorize(user: UserInfo, info: RequestInfo): Promise<Decision>;
}

/** Standalone mode (loopback only): every caller is an administrator. */
export const standaloneUser: UserInfo = { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export const standaloneAuthenticator: Authenticator = {
  authenticate: () => Promise.resolve({ kind: 'authenticated', user: standaloneUser }),
};

export const allowAll: Authorizer = { authorize: () => Promise.resolve({ allowed: true }) };
