// Vite configuration of the console renderer, passed with --config. Effectful only when Vite runs it.
// The output in out/renderer must load from file:// and app:// in Electron and from http:// behind
// `warden console`, under a CSP that allows no inline script or style.

import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The renderer build. `base: './'` makes every asset URL relative, so one build serves every
 * origin; `assetsInlineLimit: 0` keeps fonts and images out of data: and inline blobs the CSP
 * would refuse; CSS is extracted to files because `style-src 'self'` bans inline styles. The
 * metrics view's chunk carries ECharts (about 540 kB minified, 180 kB gzipped) and is loaded
 * only when that view opens, hence the raised size warning.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../renderer', import.meta.url)),
  base: './',
  plugins: [vue()],
  publicDir: false,
  clearScreen: false,
  build: {
    outDir: `${repoRoot}out/renderer`,
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    target: 'es2022',
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
});
