export type { ListenAddress, PetrelConfig } from './types.js';
export { defaultConfig, isLoopbackHost } from './defaults.js';
export { loadConfig, configFilePath, type LoadConfigOptions } from './load.js';
export { ConfigError } from './errors.js';
export { formatListen } from './values.js';
