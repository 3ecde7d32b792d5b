/** The live-host collectors wmiscope ships (scripts as constant text) and the format of what they write. */
export { POWERSHELL_COLLECTOR } from './powershell.js';
export * from './format.js';
export * from './velociraptor.js';
