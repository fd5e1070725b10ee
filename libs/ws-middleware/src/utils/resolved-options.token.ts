/** Injection token of the checked options with defaults applied (`ResolvedWsMiddlewareOptions`). */
export const WS_RESOLVED_OPTIONS = 'WS_MIDDLEWARE:resolved_options';
