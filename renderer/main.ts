// Effectful. The renderer's entry: make the bridge, then install Pinia and the router and mount.

import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createAppRouter } from './router.ts';
import { bridge } from './services/nodeApi.ts';
import './styles/main.css';

// NB: the bridge takes the access token out of the address; the hash router must come after.
bridge();

createApp(App).use(createPinia()).use(createAppRouter()).mount('#app');
