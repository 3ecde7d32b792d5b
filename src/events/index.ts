/** Typed views of rendered event records for WMI subscription evidence, and value normalization. */
export * from './normalize.js';
export * from './wmi.js';
export * from './messages.js';
export * from './powershell.js';
export * from './psframeworks.js';
