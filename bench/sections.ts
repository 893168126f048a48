/** The benchmark sections, run in this order by `npm run bench`. Add new ones here. */
import type { BenchSection } from './section.js';
import { accessCopiesSection } from './sections/access-copies.js';
import { bigMastersSection } from './sections/big-masters.js';
import { prewarmSection } from './sections/prewarm.js';
import { renderSection } from './sections/render.js';
import { serviceSection } from './sections/service.js';

export const SECTIONS: readonly BenchSection[] = [renderSection, serviceSection, prewarmSection, bigMastersSection, accessCopiesSection];
