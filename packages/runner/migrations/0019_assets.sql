CREATE TABLE "podline"."asset_cursors" (
	"pipeline" text NOT NULL,
	"asset" text NOT NULL,
	"after_tx" bigint NOT NULL,
	"after_id" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "asset_cursors_pipeline_asset_pk" PRIMARY KEY("pipeline","asset")
);
--> statement-breakpoint
CREATE TABLE "podline"."asset_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"asset" text NOT NULL,
	"value" jsonb NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	"run_id" uuid,
	"pipeline" text,
	"task" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "assets" jsonb;--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "asset_event_id" bigint;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD COLUMN "produces" text[];--> statement-breakpoint
CREATE INDEX "asset_events_asset_order_idx" ON "podline"."asset_events" USING btree ("asset","tx","id");--> statement-breakpoint
CREATE INDEX "asset_events_asset_id_idx" ON "podline"."asset_events" USING btree ("asset","id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_pipeline_asset_event_idx" ON "podline"."runs" USING btree ("pipeline","asset_event_id");