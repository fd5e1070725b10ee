/**
 * Jest (on Node 20) cannot `require()` an ES module, which CommonJS packages such as
 * @nestjs/throttler do with @nestjs/common and @nestjs/core (plain Node >= 20.19 can). This
 * transform points those requires at the ES module instances that esm-bridge.setup.ts loaded into
 * the same registry, so that classes keep one identity. Test-only: builds and `npm start` use Node.
 */
module.exports = {
  process(source) {
    return {
      code: source.replace(
        /require\("(@nestjs\/(?:common|core))"\)/g,
        'globalThis.__nestEsmBridge("$1")',
      ),
    };
  },
};
