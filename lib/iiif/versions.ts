/** The registry of API version modules (node-iiif's one good idea, typed without casts). */
import type { ApiVersion } from './types.js';
import { v2 } from './v2.js';
import { v3 } from './v3.js';
import type { VersionModule } from './version-module.js';

export const VERSIONS = { '2': v2, '3': v3 } as const satisfies Record<ApiVersion, VersionModule>;

export function versionModule(version: ApiVersion): VersionModule {
  return VERSIONS[version];
}
