// encore's only public entry point: every supported export, sorted by module path.

export type { BackendInfo, BackendName, InitBackendOptions } from './backend.js';
export { backendInfo, embeddingLookup, ensureBackend, initBackend } from './backend.js';
export type {
  BlendEvaluation,
  BlendMember,
  BlendMemberSummary,
  BlendOptions,
  BlendResult,
  BlendStrategy,
  BlendStrategyName,
  BlendTrack,
  DiscoverWeeklyOptions,
  DiscoverWeeklyResult,
  DiscoverWeeklyTrack,
  MemberEvaluation,
  StrategyContext,
  TasteMatchOptions,
} from './blend/index.js';
export {
  blend,
  cosineToMatch,
  discoverWeekly,
  evaluateBlend,
  jainIndex,
  strategies,
  TASTE_MATCH_SCALE,
  tasteMatch,
  toDay,
  toIsoWeek,
} from './blend/index.js';
export type { DatasetOptions, DatasetStats } from './data/dataset.js';
export { Dataset, Vocabulary } from './data/dataset.js';
export type {
  BestHitRateOptions,
  GeneratedUser,
  GeneratedWorld,
  GenerateOptions,
  GroundTruth,
  TruthStep,
} from './data/generate.js';
export { bestAchievableHitRate, generateWorld, truthCases } from './data/generate.js';
export type {
  InvalidRowPolicy,
  ListenColumn,
  ListenFormat,
  LoadListensOptions,
  LoadListensResult,
  LoadTracksOptions,
  LoadTracksResult,
  TimestampUnit,
  TrackColumn,
} from './data/loaders.js';
export {
  LISTEN_COLUMNS,
  LISTEN_FORMATS,
  listensToCsv,
  loadListens,
  loadTracks,
  parseTimestamp,
  saveListens,
  saveListensAndTracks,
  saveTracks,
  TRACK_COLUMNS,
  tracksToCsv,
} from './data/loaders.js';
export { ListenSchema, TrackSchema } from './data/schemas.js';
export type {
  HoldOutRecentOptions,
  HoldOutRecentSplit,
  LeaveOneOutSplit,
  TemporalSplit,
  TemporalSplitOptions,
} from './data/splits.js';
export { holdOutRecent, leaveOneOut, temporalSplit } from './data/splits.js';
export type { EvalCase, Listen, SkipLevel, Track } from './data/types.js';
export type { DataIssue } from './errors.js';
export {
  checkKnownOptions,
  EncoreError,
  formatIssue,
  InvalidDataError,
  InvalidModelFileError,
  InvalidOptionError,
} from './errors.js';
export type { ComparisonRow } from './eval/compare.js';
export { compare, formatComparison } from './eval/compare.js';
export type { ExpectedMetrics, ExpectedOptions } from './eval/expected.js';
export { evaluateExpected } from './eval/expected.js';
export type { Candidates, EvaluateOptions, EvaluationProtocol, EvaluationResult } from './eval/metrics.js';
export { evaluate } from './eval/metrics.js';
export type { TableColumn } from './eval/table.js';
export { formatTable } from './eval/table.js';
export type { ArtistIndex, ArtistSource } from './models/artists.js';
export { artistIndex } from './models/artists.js';
export type { ItemKNNOptions, ItemTransitionOptions, PopularityOptions } from './models/baselines.js';
export { ItemKNN, ItemTransition, Popularity } from './models/baselines.js';
export type { ModelContents, StoredArray } from './models/persist.js';
export {
  getArray,
  loadModel,
  MODEL_FORMAT_VERSION,
  readModelDir,
  registerModelType,
  writeModelDir,
} from './models/persist.js';
export type { Recommendation, Recommender, RecommendOptions } from './models/recommender.js';
export {
  BaseRecommender,
  checkHistories,
  checkK,
  checkTrackIds,
  SCORE_BATCH_BYTES,
  scoreBatchSize,
  topK,
} from './models/recommender.js';
export type {
  FitRepeatOptions,
  HistoryCandidates,
  HistoryFeatures,
  RepeatCase,
  RepeatHead,
} from './models/repeat.js';
export {
  applyRepeatHead,
  fitRepeatHead,
  HISTORY_BIAS_FEATURES,
  HISTORY_BIAS_TRACKS,
  historyCandidates,
  historyFeatures,
  REPEAT_FEATURES,
  repeatLogLikelihood,
  rowLogSumExp,
} from './models/repeat.js';
export type {
  LearningRateOption,
  NormPosition,
  SASRecHyperParams,
  SASRecOptions,
} from './models/sasrec.js';
export {
  AUTO_LEARNING_RATE,
  AUTO_LEARNING_RATE_ARTISTS,
  resolveLearningRate,
  SASREC_DEFAULTS,
  SASRec,
} from './models/sasrec.js';
export type { TransitionMix, TransitionRow } from './models/transition-mix.js';
export {
  applyTransitionMix,
  parseTransitionMix,
  TRANSITION_GRID,
  TRANSITION_TRUST_MARGIN,
  TransitionMixFit,
  transitionBoost,
} from './models/transition-mix.js';
export {
  blendCompositionChart,
  modelComparisonChart,
  renderVegaLite,
  simulationChart,
  trainingCurveChart,
  writeChart,
} from './report/charts.js';
export type { ReportOptions, ReportSection, ReportTable } from './report/report.js';
export { buildReport, writeReport } from './report/report.js';
export type { BanditContext, BanditSim, BanditSimOptions } from './rewards/bandit-sim.js';
export { simulateBanditLogs } from './rewards/bandit-sim.js';
export type { RewardContext, RewardHook } from './rewards/hook.js';
export { computeRewards, hookName, RewardHookError, runHook } from './rewards/hook.js';
export type {
  CompletionOptions,
  DiversityBonusOptions,
  RepeatBonusOptions,
  ReturnBonusOptions,
  SaveBonusOptions,
  SkipPenaltyOptions,
} from './rewards/hooks.js';
export { rewards } from './rewards/hooks.js';
export type {
  Action,
  ColumnarLogs,
  LogRecord,
  OpeEstimate,
  OpeOptions,
  OpeRewardModel,
  TargetPolicy,
} from './rewards/ope.js';
export { defaultContextKey, fitTabularRewardModel, ope } from './rewards/ope.js';
export type {
  DiversityScorerOptions,
  RerankedRecommendation,
  RerankOptions,
  RewardPredictor,
  Scorer,
  ScorerContext,
} from './rewards/rerank.js';
export { rerank, scorers } from './rewards/rerank.js';
export type { RewardModelOptions, RewardTarget } from './rewards/reward-model.js';
export { RewardModel } from './rewards/reward-model.js';
export type { Belief, BeliefErrorRow, BeliefModel, BeliefOptions } from './sim/progressive-belief.js';
export { beliefErrorByDay, createBelief, progressiveBelief } from './sim/progressive-belief.js';
export type {
  SimDay,
  SimListener,
  SimPolicy,
  SimRerankContext,
  SimResult,
  SimTrack,
  SimulateOptions,
  SimWorld,
  SimWorldOptions,
} from './sim/simulator.js';
export {
  createSimWorld,
  EMPTY_VISIT_COST,
  initialHistories,
  ListenerSimulator,
  simulate,
} from './sim/simulator.js';
export type { LossName, LossOption } from './train/losses.js';
export { AUTO_CE_MAX_ITEMS, AUTO_SAMPLED_NEGATIVES, resolveLoss } from './train/losses.js';
export type { EpochLogs } from './train/trainer.js';
export { writeFileAtomic } from './util/fs.js';
