import * as common from '@nestjs/common';
import * as core from '@nestjs/core';

/** See cjs-esm-bridge.cjs. */
const modules: Record<string, unknown> = {
  '@nestjs/common': common,
  '@nestjs/core': core,
};
(globalThis as { __nestEsmBridge?: (id: string) => unknown }).__nestEsmBridge =
  (id) => modules[id];
