ALTER TABLE "podline"."task_runs" ADD COLUMN "downstream" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "upstreams_succeeded" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "upstreams_failed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "upstreams_skipped" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "upstreams_done" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Task runs made before these columns: their edges from the tasks' needs, and their counts from their
-- upstreams' states as they stand, so promotion reads true counts for the runs open now and for any
-- run retried later. Only rows with something to record are written.
UPDATE "podline"."task_runs" u SET "downstream" = e.tasks
FROM (
  SELECT d.run_id, n.task, array_agg(d.task ORDER BY d.id) AS tasks
  FROM "podline"."task_runs" d CROSS JOIN unnest(d.needs) AS n(task)
  WHERE d.map_index = -1
  GROUP BY d.run_id, n.task
) e
WHERE u.run_id = e.run_id AND u.task = e.task AND u.map_index = -1;--> statement-breakpoint
UPDATE "podline"."task_runs" d SET
  "upstreams_succeeded" = c.succeeded,
  "upstreams_failed" = c.failed,
  "upstreams_skipped" = c.skipped,
  "upstreams_done" = c.done
FROM (
  SELECT d.id,
         count(*) FILTER (WHERE u.state = 'success') AS succeeded,
         count(*) FILTER (WHERE u.state IN ('failed', 'upstream_failed')) AS failed,
         count(*) FILTER (WHERE u.state = 'skipped') AS skipped,
         count(*) FILTER (WHERE u.state IN ('success', 'failed', 'skipped', 'upstream_failed', 'cancelled')) AS done
  FROM "podline"."task_runs" d
  CROSS JOIN unnest(d.needs) AS n(task)
  JOIN "podline"."task_runs" u ON u.run_id = d.run_id AND u.task = n.task AND u.map_index = -1
  WHERE d.map_index = -1
  GROUP BY d.id
  HAVING count(*) FILTER (WHERE u.state IN ('success', 'failed', 'skipped', 'upstream_failed', 'cancelled')) > 0
) c
WHERE d.id = c.id;
