// Effectful. The preload script of the console window: wires Electron's contextBridge and
// ipcRenderer into bridge.ts. Bundled to one CommonJS file, since sandboxed preloads cannot
// load ES modules or anything but a few built-ins.

import { contextBridge, ipcRenderer } from 'electron';
import { exposeBridge } from './bridge.ts';

exposeBridge(contextBridge, ipcRenderer);
