/**
 * The live view, for a build master to host in its own process:
 *
 *   import { createLiveFeed, startLiveView } from 'buildcoord/view';
 *
 * Kept out of the package root so that the coordinator does not load a web server.
 */
export { createLiveFeed, fanOut } from './feed.ts';
export type { LiveFeed, LiveFeedOptions, Transition } from './feed.ts';
export { createStoreFeed, openStoreFeed } from './storeFeed.ts';
export type { StoreFeed, StoreFeedOptions } from './storeFeed.ts';
export { startLiveView } from './server.ts';
export type { LiveView, LiveViewOptions } from './server.ts';
export { startInspectorServer } from './inspector.ts';
export type { InspectorServer, InspectorServerOptions } from './inspector.ts';
export { readSummary } from './summary.ts';
export type { Summary, StateCounts, RequestState } from './summary.ts';
