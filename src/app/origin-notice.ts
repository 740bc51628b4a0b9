/**
 * What this page's origin withholds, in words, for the client page's Backend section. Browsers give
 * WebGPU, cross-origin isolation (so WASM threads) and service workers (offline use) only to secure
 * contexts: HTTPS, or this device's own loopback names. A classroom server reached over plain HTTP at a LAN
 * address or name is neither, so a student's tab falls back to WASM (or CPU) on one thread and cannot work
 * offline; the teacher's fix is `--https`.
 */

export interface PageOrigin {
  protocol: string;
  hostname: string;
  isSecureContext: boolean;
  crossOriginIsolated: boolean;
}

/** The notice for `o`, or null when the origin withholds nothing. */
export function originNotice(o: PageOrigin): string | null {
  if (!o.isSecureContext) {
    const where = o.protocol === 'http:' ? `plain HTTP from ${o.hostname}` : `${o.protocol}//${o.hostname}`;
    return (
      `This page came over ${where}, which is not a secure context, so the browser withholds WebGPU ` +
      '(training falls back to WASM or CPU), cross-origin isolation (so WASM runs on one thread) and ' +
      'offline use (no service worker). The teacher can start the server with `npm start -- --https` ' +
      '(or `pqfed serve --https`) and share the https:// link; the browser then warns once about the ' +
      'self-signed certificate, whose SHA-256 should match the one the server printed.'
    );
  }
  if (!o.crossOriginIsolated) {
    return (
      'This page is not cross-origin isolated (its server, or a proxy in front of it, did not send the ' +
      'COOP/COEP headers), so WASM runs on one thread.'
    );
  }
  return null;
}
