// Ambient types of the renderer: what the Electron preload may put on window, and Vite's client types.

/// <reference types="vite/client" />

import type { BridgeApi } from '../core/api/contract.ts';

declare global {
  interface Window {
    /** The preload's typed bridge; absent when the page is served by `warden console`. */
    warden?: BridgeApi;
  }
}

export {};
