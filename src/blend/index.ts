// Public surface of the Blend module: group playlists, strategies, taste match, Discover Weekly and group evaluation.
export {
  type BlendMember,
  type BlendMemberSummary,
  type BlendOptions,
  type BlendResult,
  type BlendTrack,
  blend,
} from './blend.js';
export { toDay, toIsoWeek } from './calendar.js';
export {
  type DiscoverWeeklyOptions,
  type DiscoverWeeklyResult,
  type DiscoverWeeklyTrack,
  discoverWeekly,
} from './discover-weekly.js';
export { type BlendEvaluation, evaluateBlend, jainIndex, type MemberEvaluation } from './evaluate-blend.js';
export {
  type BlendStrategy,
  type BlendStrategyName,
  type StrategyContext,
  strategies,
} from './strategies.js';
export { cosineToMatch, TASTE_MATCH_SCALE, type TasteMatchOptions, tasteMatch } from './taste-match.js';
