/**
 * wmiscope library entry point. The readers are also available on their own:
 * `wmiscope/evtx` (event logs) and `wmiscope/cim` (the WMI repository).
 */
export * from './evtx/index.js';
export * from './cim/index.js';
