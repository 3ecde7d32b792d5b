/** wmiscope library entry point. The EVTX reader is also available on its own as `wmiscope/evtx`. */
export * from './evtx/index.js';
