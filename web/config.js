// Deployment setting, the only one: where the E-Paiement API lives.
// "" = same origin as this page (the local stack, or a CDN routing /v1/* to the API).
// Otherwise the API's base URL without a trailing slash, e.g. "https://api.epaiement.portnet.ma".
window.EPAY_CONFIG = { apiBaseUrl: "" };
