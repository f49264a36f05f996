-- The claim reads the head of task_runs_claim_idx only when the planner knows how many rows are
-- queued; right after a bulk trigger the default thresholds (10 % of the table) leave it with stale
-- statistics, and it sorts every queued row at each claim instead (measured: 29 ms vs 0.04 ms per
-- claim at 100k queued). Analyze after every 0.5 % of changes, and vacuum the churn sooner.
ALTER TABLE "podline"."task_runs" SET (
  autovacuum_analyze_scale_factor = 0.005,
  autovacuum_analyze_threshold = 500,
  autovacuum_vacuum_scale_factor = 0.02
);
