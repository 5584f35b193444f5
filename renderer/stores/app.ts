// Effectful (through services/nodeApi.ts). The app store: what the backend is (AppInfo) and
// whether the bridge to it is up, for the status bar and the disconnected banner.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, AppInfo } from '../../core/api/contract.ts';
import { bridge, errorOf, nodeApi, type BridgeStatus } from '../services/nodeApi.ts';

/**
 * useAppStore holds the backend's self-description and the bridge status. The status is pushed
 * in by composables/useNodeEvents.ts so that every subscription lives in one place.
 */
export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null);
  const infoError = ref<ApiErrorBody | null>(null);
  const bridgeStatus = ref<BridgeStatus>(bridge().status());

  /** Whether requests can reach the backend now; views disable actions when they cannot. */
  const backendReachable = computed(() => bridgeStatus.value.state === 'open');
  /** Local clusters need a backend that may start processes; unknown means no. */
  const canLaunchLocal = computed(() => info.value?.canLaunchLocal === true);
  /** A short name for the bridge, for the status bar. */
  const bridgeLabel = computed(() => {
    const kind = bridgeStatus.value.kind === 'electron' ? 'desktop IPC' : bridgeStatus.value.kind === 'websocket' ? 'console WebSocket' : 'test bridge';
    return `${kind}: ${bridgeStatus.value.state}`;
  });

  async function loadInfo(): Promise<void> {
    try {
      info.value = await nodeApi().getAppInfo(undefined);
      infoError.value = null;
    } catch (err) {
      infoError.value = errorOf(err);
    }
  }

  function setBridgeStatus(status: BridgeStatus): void {
    bridgeStatus.value = status;
  }

  return { info, infoError, bridgeStatus, backendReachable, canLaunchLocal, bridgeLabel, loadInfo, setBridgeStatus };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useAppStore, import.meta.hot));
