import type { Response } from 'express';

/**
 * The security headers of an API or operations answer (JSON, an image's bytes, metrics: never a page): nothing may
 * load or frame it (a CSP of `default-src 'none'` with `frame-ancestors 'none'`, and X-Frame-Options for older
 * browsers), no sniffing of its type, HTTPS only, no referrer, not readable by other sites' no-cors requests. Helmet's
 * other defaults (Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options, X-Permitted-Cross-Domain-Policies,
 * X-XSS-Protection, COOP, a page's CSP) govern documents; on every API answer they cost time and bytes (issue 11).
 */
const API_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
];

export function apiSecurityHeaders(res: Response): void {
  for (const [name, value] of API_SECURITY_HEADERS) res.setHeader(name, value);
}
