/** See lib/user-cache.cjs. */
export function userCacheDir(name: string, env?: NodeJS.ProcessEnv): string | undefined;
export function safeDirectory(dir: string): boolean;
export function writeAtomic(path: string, data: string | Uint8Array): void;
