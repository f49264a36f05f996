DROP INDEX "podline"."task_runs_claim_version_idx";--> statement-breakpoint
DROP INDEX "podline"."task_runs_claim_pool_idx";--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "task_values_pending" boolean;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "concurrency_key" text;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "concurrency_limit" integer;--> statement-breakpoint
CREATE INDEX "task_runs_concurrency_key_idx" ON "podline"."task_runs" USING btree ("pipeline","task","concurrency_key","available_at","id") WHERE concurrency_key is not null and state in ('queued', 'running', 'up_for_retry');--> statement-breakpoint
CREATE INDEX "task_runs_claim_version_idx" ON "podline"."task_runs" USING btree ("version","kind","priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry') and pool is null and available_at < 'infinity';--> statement-breakpoint
CREATE INDEX "task_runs_claim_pool_idx" ON "podline"."task_runs" USING btree ("pool","version","kind","priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry') and pool is not null and available_at < 'infinity';