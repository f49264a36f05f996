DROP INDEX "podline"."task_runs_run_task_idx";--> statement-breakpoint
DROP INDEX "podline"."task_runs_open_idx";--> statement-breakpoint
ALTER TABLE "podline"."xcoms" ADD COLUMN "map_index" integer DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."xcoms" DROP CONSTRAINT "xcoms_run_id_task_key_pk";--> statement-breakpoint
ALTER TABLE "podline"."xcoms" ADD CONSTRAINT "xcoms_run_id_task_map_index_key_pk" PRIMARY KEY("run_id","task","map_index","key");--> statement-breakpoint
ALTER TABLE "podline"."events" ADD COLUMN "map_index" integer;--> statement-breakpoint
ALTER TABLE "podline"."task_logs" ADD COLUMN "map_index" integer DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "map_index" integer DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "map_item" jsonb;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "max_parallel" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_run_task_idx" ON "podline"."task_runs" USING btree ("run_id","task","map_index");--> statement-breakpoint
CREATE INDEX "task_runs_open_idx" ON "podline"."task_runs" USING btree ("run_id","state","task","map_index") WHERE state in ('pending', 'queued', 'running', 'up_for_retry');