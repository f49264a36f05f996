CREATE TABLE "podline"."backfills" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"pipeline" text NOT NULL,
	"from" timestamp with time zone NOT NULL,
	"to" timestamp with time zone NOT NULL,
	"max_active" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "podline"."schedules" (
	"pipeline" text PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"cron" text NOT NULL,
	"timezone" text NOT NULL,
	"catchup" boolean NOT NULL,
	"max_catchup" integer NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"ticks_after" timestamp with time zone DEFAULT now() NOT NULL,
	"last_logical_date" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "logical_date" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "interval_start" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "max_active_runs" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "backfills_range_idx" ON "podline"."backfills" USING btree ("pipeline","from","to");--> statement-breakpoint
CREATE INDEX "runs_open_pipeline_idx" ON "podline"."runs" USING btree ("pipeline","created_at") WHERE state in ('queued', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "runs_pipeline_logical_date_idx" ON "podline"."runs" USING btree ("pipeline","logical_date");