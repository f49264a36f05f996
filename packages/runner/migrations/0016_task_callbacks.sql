DROP INDEX "podline"."run_callbacks_run_event_idx";--> statement-breakpoint
ALTER TABLE "podline"."run_callbacks" ADD COLUMN "task" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."run_callbacks" ADD COLUMN "map_index" integer DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."run_callbacks" ADD COLUMN "attempt" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "podline"."run_callbacks" ADD COLUMN "task_error" text;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "callbacks" text[];--> statement-breakpoint
CREATE UNIQUE INDEX "run_callbacks_run_event_idx" ON "podline"."run_callbacks" USING btree ("run_id","event","task","map_index","attempt");