ALTER TABLE "podline"."task_runs" ADD COLUMN "retries" integer;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "retry_delay" jsonb;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "taken_over" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "claims" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."workers" ADD COLUMN "lease_ms" integer;--> statement-breakpoint
DROP INDEX "podline"."task_runs_claim_idx";--> statement-breakpoint
CREATE INDEX "task_runs_claim_version_idx" ON "podline"."task_runs" USING btree ("version","priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry');--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD CONSTRAINT "runs_state_check" CHECK (state in ('queued', 'running', 'success', 'failed', 'cancelled'));--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD CONSTRAINT "task_runs_state_check" CHECK (state in ('pending', 'queued', 'running', 'success', 'failed', 'up_for_retry', 'skipped', 'upstream_failed', 'cancelled'));
--> statement-breakpoint
-- Hand-written: retries, retry_delay and workers.lease_ms are added nullable above (drizzle-kit wrote
-- NOT NULL), filled, then made NOT NULL. retries and retry_delay come from each task's options in its
-- stored plan (max_attempts was retries + 1); claims was the attempt; lease_ms the default lease.
UPDATE "podline"."task_runs" t SET "retries" = t."max_attempts" - 1, "claims" = t."attempt",
  "retry_delay" = coalesce((
    SELECT planned.value -> 'options' -> 'retryDelay'
    FROM "podline"."pipelines" p, jsonb_array_elements(p."plan" -> 'tasks') planned
    WHERE p."name" = t."pipeline" AND p."version" = t."version" AND planned.value ->> 'name' = t."task"
  ), '{"initialMs": 1000, "factor": 2, "maxMs": 300000, "jitter": 0.2}'::jsonb);
--> statement-breakpoint
UPDATE "podline"."workers" SET "lease_ms" = 30000;
--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ALTER COLUMN "retries" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ALTER COLUMN "retry_delay" SET NOT NULL;
--> statement-breakpoint
ALTER TABLE "podline"."workers" ALTER COLUMN "lease_ms" SET NOT NULL;
