export * from './ws-connection-context.interface.js';
export * from './ws-connection-middleware.interface.js';
export * from './ws-counter-storage.interface.js';
export * from './ws-middleware-options.interface.js';
export * from './ws-token-claims.interface.js';
