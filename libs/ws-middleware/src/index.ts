export * from './ws-middleware.module.js';
